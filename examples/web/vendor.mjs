// Copies the pinned player libraries from node_modules into vendor/ (not committed), where
// streamd serves them with the page. Runs as the postinstall step of `npm ci`.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const files = [
  ['node_modules/hls.js/dist/hls.min.js', 'hls.min.js'],
  ['node_modules/dashjs/dist/modern/umd/dash.all.min.js', 'dash.all.min.js'],
];
mkdirSync(join(here, 'vendor'), { recursive: true });
for (const [from, to] of files) copyFileSync(join(here, from), join(here, 'vendor', to));
console.log(`web: vendor/ has ${files.map((f) => f[1]).join(', ')}`);
