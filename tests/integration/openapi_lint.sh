#!/usr/bin/env bash
# Lint docs/api/openapi.yaml with Redocly CLI, pinned in tools/openapi/package-lock.json.
# Installs it with `npm ci` when tools/openapi/node_modules is missing (node_modules is never
# committed), then runs the locally installed linter with `npx --no-install`.
# Skips (exit 77, meson's "skipped") only when npm is not installed.
# Usage: tests/integration/openapi_lint.sh [SOURCE_ROOT]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
dir="$root/tools/openapi"
spec="$root/docs/api/openapi.yaml"

if ! command -v npm >/dev/null 2>&1 || ! command -v npx >/dev/null 2>&1; then
  echo "openapi-lint: SKIPPED: npm/npx not installed (apt-get install npm), $spec not linted"
  exit 77
fi
cd "$dir"
if [ ! -x node_modules/.bin/redocly ]; then
  echo "openapi-lint: installing the linter (npm ci in tools/openapi)"
  npm ci --no-audit --no-fund --loglevel=error
fi
npx --no-install redocly --version
npx --no-install redocly lint --config redocly.yaml --format stylish "$spec"
