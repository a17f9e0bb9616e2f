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

# Subtitles: an SRT (ASS-style override tag, italics, accents) and a WebVTT,
# with cues before, across and after the 6 s segment boundaries, and one past
# the end of the 13 s video (dropped) and one running past it (clipped).
printf '1\r\n00:00:01,000 --> 00:00:02,500\r\nCafé <i>déjà</i> vu\r\n\r\n2\r\n00:00:05,000 --> 00:00:07,250\r\n{\\an8}Across the <b>boundary</b>\r\nsecond line\r\n\r\n3\r\n00:00:08,000 --> 00:00:09,000\r\nAfter\r\n\r\n4\r\n00:00:12,500 --> 00:00:20,000\r\nPast the end\r\n\r\n5\r\n00:00:15,000 --> 00:00:16,000\r\nNever shown\r\n' >"$work/fr.srt"
printf 'WEBVTT\n\n00:00:00.500 --> 00:00:01.500\n<i>¡Hola!</i> señor\n\n00:00:11.000 --> 00:00:12.500\nA &amp; B\n' >"$work/es.vtt"
"$streamctl" transcode "$work/src.mp4" "$work/out" --ladder 720p,360p,234p \
  --x264-preset ultrafast --json --subtitle "$work/fr.srt:fr:Français:default" \
  --subtitle "$work/es.vtt:es-419:Español:forced" >"$work/summary.out"
[ -d "$work/out" ] || fail "no output directory"
ls "$work" | grep -q partial && fail "a staging directory was left behind"

/usr/bin/python3 "$here/hls_check.py" --strict "$work/out" || fail "Apple rules"
bash "$here/run_parsers.sh" --dir "$work/out" 2 || fail "npm parsers"

# Subtitles: one WebVTT segment per video segment, each with the header and
# X-TIMESTAMP-MAP; cue times as given; the boundary cue in segments 1 and 2.
/usr/bin/python3 - "$work/out" <<'PY'
import os, re, sys
out = sys.argv[1]
def playlist(rel):
    return [l for l in open(os.path.join(out, rel), encoding="utf-8").read().split("\n")
            if l and not l.startswith("#")]
video = playlist("v720p_3000/index.m3u8")
master = open(os.path.join(out, "master.m3u8"), encoding="utf-8").read()
assert 'TYPE=SUBTITLES,GROUP-ID="subs",NAME="Français",LANGUAGE="fr",DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,URI="sub_fr/index.m3u8"' in master, master
assert 'TYPE=SUBTITLES,GROUP-ID="subs",NAME="Español",LANGUAGE="es-419",DEFAULT=NO,AUTOSELECT=YES,FORCED=YES,URI="sub_es_419/index.m3u8"' in master, master
inf = [l for l in master.split("\n") if l.startswith("#EXT-X-STREAM-INF")]
assert inf and all('SUBTITLES="subs"' in l for l in inf), inf
assert not any("SUBTITLES" in l for l in master.split("\n") if l.startswith("#EXT-X-I-FRAME")), master
def cues(path):
    text = open(path, encoding="utf-8").read()
    lines = text.split("\n")
    assert lines[0] == "WEBVTT", (path, lines[:2])
    assert lines[1] == "X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000", (path, lines[1])
    res = []
    for block in text.split("\n\n")[1:]:
        b = block.strip().split("\n")
        m = re.fullmatch(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})", b[0])
        assert m, (path, b)
        g = [int(x) for x in m.groups()]
        ms = lambda h, mi, s, x: ((h * 60 + mi) * 60 + s) * 1000 + x
        res.append((ms(*g[:4]), ms(*g[4:]), "\n".join(b[1:])))
    return res
fr = [cues(os.path.join(out, "sub_fr", f)) for f in playlist("sub_fr/index.m3u8")]
es = [cues(os.path.join(out, "sub_es_419", f)) for f in playlist("sub_es_419/index.m3u8")]
assert len(fr) == len(video) == len(es) == 3, (len(fr), len(video), len(es))
assert fr[0] == [(1000, 2500, "Café <i>déjà</i> vu"),
                 (5000, 7250, "Across the <b>boundary</b>\nsecond line")], fr[0]
assert fr[1] == [(5000, 7250, "Across the <b>boundary</b>\nsecond line"), (8000, 9000, "After")], fr[1]
end = fr[2][0][1]
assert fr[2] == [(12500, end, "Past the end")] and 12900 <= end <= 13100, fr[2]
assert es[0] == [(500, 1500, "<i>¡Hola!</i> señor")] and es[1] == [(11000, 12500, "A &amp; B")], es
assert es[2] == [(11000, 12500, "A &amp; B")] or es[2] == [], es[2]
whole = open(os.path.join(out, "sub_fr.vtt"), encoding="utf-8").read()
assert whole.startswith("WEBVTT\n") and "Never shown" not in whole and "Past the end" in whole
mpd = open(os.path.join(out, "manifest.mpd"), encoding="utf-8").read()
assert 'contentType="text" mimeType="text/vtt" lang="fr"' in mpd and "<BaseURL>sub_fr.vtt</BaseURL>" in mpd, mpd
assert 'value="subtitle"' in mpd and 'value="forced-subtitle"' in mpd, mpd
print("subtitles: ok")
PY

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
# Bad subtitle inputs: a clear error naming the problem, exit 1 (2 for usage),
# and no output directory.
ffmpeg -nostdin -loglevel error -f lavfi -i color=c=red:s=16x16 -frames:v 1 -f image2 -c:v png "$work/real.png"
cp "$work/real.png" "$work/img.srt"
: >"$work/empty.vtt"
printf 'WEBVTT\n\n' >"$work/nocues.vtt"
check_bad() { # ARG WANT_RC PATTERN
  set +e
  "$streamctl" transcode "$work/src.mp4" "$work/bad_sub" --ladder 234p --x264-preset ultrafast \
    --no-thumbnails --subtitle "$1" 2>"$work/bad_sub.err" >/dev/null
  local rc=$?
  set -e
  [ "$rc" -eq "$2" ] || fail "--subtitle $1: exit $rc, want $2 ($(cat "$work/bad_sub.err"))"
  grep -q "$3" "$work/bad_sub.err" || fail "--subtitle $1: $(cat "$work/bad_sub.err")"
  [ -e "$work/bad_sub" ] && fail "--subtitle $1 left output"
  ls "$work" | grep -q "bad_sub.partial" && fail "--subtitle $1 left a staging directory"
  return 0
}
check_bad "$work/missing.srt:en" 1 "subtitle file .*missing.srt does not exist"
check_bad "$work/img.srt:en" 1 "img.srt is not a subtitle file"
check_bad "$work/empty.vtt:en" 1 "subtitle file .*empty.vtt is empty"
check_bad "$work/nocues.vtt:en" 1 "nocues.vtt"
check_bad "$work/fr.srt:english!" 1 "not a BCP 47 tag"
check_bad "$work/fr.srt" 2 "want PATH:LANG"
echo "3 passed, 0 failed"
