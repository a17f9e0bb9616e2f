#!/usr/bin/env bash
# End to end: a generated source (test pattern + tone, 1280x720, 29.97 fps) through
# `streamctl transcode`, then the output checked as a player would meet it: Apple's
# rules (hls_check.py --strict), the npm m3u8-parser/mpd-parser, ffprobe on a segment
# of every rendition, and the thumbnails and summary.json present.
set -euo pipefail
streamctl=${1:?usage: test_transcode_e2e.sh STREAMCTL}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

ffmpeg -nostdin -loglevel error -f lavfi -i "testsrc2=size=1280x720:rate=30000/1001" \
  -f lavfi -i "sine=frequency=440:sample_rate=44100" -t 13 -metadata:s:a:0 language=eng \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest "$work/src.mp4"

"$streamctl" transcode "$work/src.mp4" "$work/out" --ladder 720p,360p,234p \
  --x264-preset ultrafast --json >"$work/summary.out"
[ -d "$work/out" ] || fail "no output directory"
ls "$work" | grep -q partial && fail "a staging directory was left behind"

/usr/bin/python3 "$here/hls_check.py" --strict "$work/out" || fail "Apple rules"
bash "$here/run_parsers.sh" --dir "$work/out" || fail "npm parsers"

for f in master.m3u8 manifest.mpd summary.json poster.jpg thumbnails.vtt; do
  [ -s "$work/out/$f" ] || fail "missing $f"
done
ls "$work/out/sprites/"*.jpg >/dev/null || fail "no sprite sheet"

# Every rendition: its first segment decodes (init + segment) and starts with a key frame.
n=0
for init in "$work/out"/*/init.mp4; do
  dir=$(dirname "$init")
  cat "$init" "$dir/seg_00002.m4s" >"$work/probe.mp4"
  flags=$(ffprobe -v error -select_streams 0 -show_entries packet=flags -of csv=p=0 "$work/probe.mp4")
  first=${flags%%$'\n'*}
  case "$first" in K*) ;; *) fail "$(basename "$dir"): segment 2 does not start with a key frame ($first)" ;; esac
  n=$((n + 1))
done
[ "$n" -eq 4 ] || fail "expected 3 video renditions and 1 audio, found $n"

/usr/bin/python3 - "$work/out/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
text = json.dumps(s)
assert "720" in text and "360" in text, "summary names the renditions"
print("summary.json: ok")
PY
# Custom rungs on the command line: WxH@RATE, and xH@RATE (width from the aspect ratio).
"$streamctl" transcode "$work/src.mp4" "$work/custom" --ladder 640x360@500k,x234@0.15M \
  --x264-preset ultrafast --no-thumbnails --json >"$work/custom.out"
/usr/bin/python3 - "$work/custom/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
v = sorted((r["width"], r["height"], r["target_bitrate"])
           for r in s["renditions"] if r["kind"] == "video")
assert v == [(416, 234, 150000), (640, 360, 500000)], v
print("custom ladder: ok", v)
PY
set +e
"$streamctl" transcode "$work/src.mp4" "$work/bad" --ladder 1280x720@ 2>"$work/bad.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "malformed custom rung: exit $rc, want 2"
grep -q "want @RATE" "$work/bad.err" || fail "malformed custom rung: $(cat "$work/bad.err")"
[ -e "$work/bad" ] && fail "malformed custom rung left output"
echo "2 passed, 0 failed"
