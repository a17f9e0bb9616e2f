// Uploads a file to streamd with tus-js-client (the tus reference client), in
// 64 KiB chunks, remembering the upload URL in a FileUrlStorage so a second
// run resumes it (findPreviousUploads + resumeFromPreviousUpload).
//
//   node upload.mjs --endpoint URL --token T --file F --store URLS.json --title ID
//                   [--pause-at BYTES --go-file PATH] [--resume]
//                   [--chunk BYTES] [--during-creation]
//
// --pause-at: once BYTES are acknowledged, print {"event":"paused",...} and block
// (the event loop too) until --go-file exists: the driver kills streamd meanwhile,
// so the next PATCH fails and this run exits 2 with the upload URL.
// --resume: require a previous upload in the store and continue it.
// --chunk: chunk size (default 65536; "all" = the whole file in one request).
// --during-creation: tus creation-with-upload (uploadDataDuringCreation): the
// first chunk goes in the POST; prints {"event":"created","status",
// "offset","body"} from the POST's response.
// Prints one JSON line per event; exit 0 on success, 2 on an upload error.
import * as fs from 'node:fs';
import { Upload, FileUrlStorage } from 'tus-js-client';

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith('--')) throw new Error('bad argument ' + a);
  const key = a.slice(2);
  if (key === 'resume' || key === 'during-creation') args[key] = true;
  else args[key] = process.argv[++i];
}
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const data = fs.readFileSync(args.file);
const pauseAt = args['pause-at'] ? Number(args['pause-at']) : -1;
let paused = false;

function blockUntil(path) {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!fs.existsSync(path)) Atomics.wait(cell, 0, 0, 50);
}

const chunkSize = args.chunk === 'all' ? Infinity : Number(args.chunk || 64 * 1024);

const upload = new Upload(data, {
  endpoint: args.endpoint,
  chunkSize,
  uploadDataDuringCreation: Boolean(args['during-creation']),
  onAfterResponse(req, res) {
    if (args['during-creation'] && req.getMethod() === 'POST')
      emit({
        event: 'created',
        status: res.getStatus(),
        offset: Number(res.getHeader('Upload-Offset')),
        body: res.getBody(),
      });
  },
  retryDelays: [],
  headers: { Authorization: 'Bearer ' + args.token },
  metadata: { title_id: args.title, filename: args.file.split('/').pop(), filetype: 'video/mp4' },
  urlStorage: new FileUrlStorage(args.store),
  storeFingerprintForResuming: true,
  removeFingerprintOnSuccess: false,
  onChunkComplete(chunkSize, accepted, total) {
    if (!paused && pauseAt >= 0 && accepted >= pauseAt) {
      paused = true;
      emit({ event: 'paused', accepted, total, url: upload.url });
      blockUntil(args['go-file']);
    }
  },
  onError(err) {
    emit({ event: 'error', url: upload.url, message: String(err && err.message || err) });
    process.exit(2);
  },
  onSuccess() {
    emit({ event: 'success', url: upload.url, bytes: data.length });
    process.exit(0);
  },
});

const previous = await upload.findPreviousUploads();
if (args.resume) {
  if (previous.length === 0) {
    emit({ event: 'error', message: 'no previous upload to resume' });
    process.exit(3);
  }
  upload.resumeFromPreviousUpload(previous[0]);
  emit({ event: 'resuming', url: previous[0].uploadUrl });
} else if (previous.length !== 0) {
  emit({ event: 'error', message: 'a previous upload exists: the store should be fresh' });
  process.exit(3);
}
upload.start();
