#!/bin/bash
# Runs the real manifest parsers (npm m3u8-parser, mpd-parser) on a manifest
# set: `run_parsers.sh FIXTURE_EXE` writes one with the C writers into a temp
# dir first; `run_parsers.sh --dir OUTDIR [EXPECTED_SUBTITLES]` parses an
# existing output dir.
# Installs the pinned parsers with `npm ci` when node_modules is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v node >/dev/null || { echo "node not found: cannot run the parsers" >&2; exit 1; }
if [ ! -d "$here/node_modules/m3u8-parser" ] || [ ! -d "$here/node_modules/mpd-parser" ]; then
  # one installer at a time (several build dirs may run this test together)
  exec 9>"${TMPDIR:-/tmp}/libstream-media-npm.lock"
  flock 9
  if [ ! -d "$here/node_modules/m3u8-parser" ] || [ ! -d "$here/node_modules/mpd-parser" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  flock -u 9
fi
if [ "${1:-}" = "--dir" ]; then
  exec node "$here/parse_manifests.mjs" "$2" ${3:+"$3"}
fi
fixture="${1:?usage: run_parsers.sh FIXTURE_EXE | --dir OUTDIR}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
for variant in full video-only subs; do
  mkdir -p "$work/$variant"
  "$fixture" "$work/$variant" "$variant"
  echo "== $variant"
  expect=""
  [ "$variant" = subs ] && expect=2
  node "$here/parse_manifests.mjs" "$work/$variant" $expect || status=1
done
exit $status
