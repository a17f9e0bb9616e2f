#!/usr/bin/env bash
# bench/transcode/run.sh [--meson] DRIVER   (issue #4 "Performance")
#
# libstream's transcoder against the ffmpeg CLI on the ladder of media.md §5.1.
# DRIVER is bench_transcode_job (built next to this script by meson): it runs
# stream_media_job_run() like `streamctl transcode --no-thumbnails`, with the
# same custom ladder as the ffmpeg command (1080p 6000k, 720p 3000k, 854x480
# 1500k, 640x360 800k) and the same x264 preset (veryfast).
#
# 1. Generates the sources of media.md §5 into a temporary directory: 1920x1080
#    30 fps testsrc2 + 48 kHz stereo sine, H.264 High CRF 18 + AAC 192k
#    (src.mp4), and the same with noise=alls=12:allf=t (src_noise.mp4).
# 2. Per source and round, runs the exact §5.1 ffmpeg command and ours,
#    alternating which goes first; prints every wall time and the median.
# 3. Prints source fps (frames / median wall s) of each, the ratio
#    ffmpeg-time / our-time, and SSIM / PSNR (ffmpeg filters) of each tool's
#    720p rung against the source scaled to 1280x720, plus the rung's bit rate.
#
# Not a test: no thresholds, exit 0 (also when ffmpeg is missing: "skipped").
# Environment:
#   BENCH_QUICK=1     5 s sources, 1 round (default: 20 s, 2 rounds)
#   BENCH_ROUNDS=N    rounds per tool and source (overrides the default)
#   BENCH_KEEP=1      keep the temporary directory (its path is printed)
#   BENCH_SRC_DIR=D   reuse D/src.mp4 and D/src_noise.mp4 (e.g. a kept
#                     directory of an earlier run with the same duration)
#   CI                with --meson (the meson benchmark), quick mode is used
#                     exactly when CI is set and non-empty; BENCH_QUICK is
#                     ignored there.
set -u

meson_mode=0
if [ "${1:-}" = "--meson" ]; then
  meson_mode=1
  shift
fi
DRIVER=${1:-}

if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
  echo "bench-transcode: skipped: ffmpeg/ffprobe not installed"
  exit 0
fi
if [ -z "$DRIVER" ] || [ ! -x "$DRIVER" ]; then
  echo "bench-transcode: skipped: no driver (usage: run.sh [--meson] path/to/bench_transcode_job)"
  exit 0
fi
if ! ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx264; then
  echo "bench-transcode: skipped: ffmpeg has no libx264 encoder"
  exit 0
fi

if [ "$meson_mode" = 1 ]; then
  if [ -n "${CI:-}" ]; then quick=1; else quick=0; fi
else
  quick=${BENCH_QUICK:-0}
  [ "$quick" = 1 ] || quick=0
fi
# Quick mode also encodes its sources with x264 "veryfast" instead of x264's default
# ("medium"): the noisy 5 s source takes about 10 s instead of 40 s on 2 cores (it comes out at
# about 136 instead of 164 Mbit/s). Full mode keeps media.md §5's sources exactly.
if [ "$quick" = 1 ]; then dur=5; rounds=1; src_preset=veryfast; else dur=20; rounds=2; src_preset=medium; fi
rounds=${BENCH_ROUNDS:-$rounds}

LADDER="1920x1080:6000000,1280x720:3000000,854x480:1500000,640x360:800000"
X264_PRESET=veryfast

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-transcode.XXXXXX") || exit 0
cleanup() {
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "kept: $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "bench-transcode: $*" >&2
  echo "bench-transcode: aborted (not a test: exit 0)"
  exit 0
}

# --- environment -------------------------------------------------------------
echo "== environment"
echo "cpus:       $(nproc) online ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'))"
echo "kernel:     $(uname -sr)"
echo "load:       $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo "ffmpeg:     $(ffmpeg -version | head -n1)"
echo "libstream:  $("$DRIVER" --version)"
x264v=$(dpkg-query -W -f '${Package} ${Version}' 'libx264-[0-9]*' 2>/dev/null | head -n1)
echo "x264:       ${x264v:-unknown package} (core from the stream SEI below)"
echo "mode:       $([ "$quick" = 1 ] && echo quick || echo full): ${dur} s sources, $rounds round(s) per tool and source"
echo "ladder:     $LADDER, x264 preset $X264_PRESET, 6 s segments, thumbnails off"
echo "tmp:        $tmp"

# --- sources (media.md §5) ---------------------------------------------------
echo "== generating sources (${dur} s 1920x1080p30 testsrc2 + 48 kHz stereo sine, H.264 High CRF 18 x264 $src_preset + AAC 192k)"
gen() { # out [extra video filter]
  local vf="format=yuv420p"
  [ -n "${2:-}" ] && vf="$2,format=yuv420p"
  ffmpeg -hide_banner -nostdin -loglevel error -y \
    -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=$dur" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$dur" \
    -vf "$vf" -c:v libx264 -preset "$src_preset" -profile:v high -crf 18 -pix_fmt yuv420p \
    -c:a aac -b:a 192k -ac 2 -ar 48000 -movflags +faststart -shortest "$1"
}
if [ -n "${BENCH_SRC_DIR:-}" ] && [ -s "$BENCH_SRC_DIR/src.mp4" ] && [ -s "$BENCH_SRC_DIR/src_noise.mp4" ]; then
  # sources made by an earlier run with BENCH_KEEP=1 (generating the noisy one takes minutes)
  echo "reusing the sources of $BENCH_SRC_DIR"
  ln -s "$(cd "$BENCH_SRC_DIR" && pwd)/src.mp4" "$tmp/src.mp4"
  ln -s "$(cd "$BENCH_SRC_DIR" && pwd)/src_noise.mp4" "$tmp/src_noise.mp4"
else
  gen "$tmp/src.mp4" || fail "generating src.mp4 failed"
  gen "$tmp/src_noise.mp4" "noise=alls=12:allf=t" || fail "generating src_noise.mp4 failed"
fi
for s in src src_noise; do
  br=$(ffprobe -v error -show_entries format=bit_rate -of csv=p=0 "$tmp/$s.mp4")
  echo "$s.mp4: $(($(stat -L -c %s "$tmp/$s.mp4") / 1024)) KiB, $((br / 1000)) kbit/s"
done

# --- one timed run -------------------------------------------------------------
# run_ffmpeg SRC DIR / run_ours SRC DIR: the command, in DIR, stdout+stderr to
# DIR.log; prints "real user sys" seconds.
run_ffmpeg() {
  mkdir -p "$2"
  (cd "$2" && { time ffmpeg -hide_banner -nostats -y -i "$1" \
    -filter_complex "[0:v]split=4[v1][v2][v3][v4];[v1]null[v1o];[v2]scale=w=1280:h=720[v2o];[v3]scale=w=854:h=480[v3o];[v4]scale=w=640:h=360[v4o]" \
    -map "[v1o]" -map "[v2o]" -map "[v3o]" -map "[v4o]" -map 0:a:0 \
    -c:v libx264 -preset veryfast -profile:v high -pix_fmt yuv420p \
    -g 60 -keyint_min 60 -sc_threshold 0 -flags +cgop \
    -b:v:0 6000k -maxrate:v:0 6600k -bufsize:v:0 12000k \
    -b:v:1 3000k -maxrate:v:1 3300k -bufsize:v:1 6000k \
    -b:v:2 1500k -maxrate:v:2 1650k -bufsize:v:2 3000k \
    -b:v:3  800k -maxrate:v:3  880k -bufsize:v:3 1600k \
    -c:a aac -b:a 128k -ac 2 -ar 48000 \
    -f hls -hls_time 6 -hls_playlist_type vod -hls_segment_type fmp4 \
    -hls_flags independent_segments -hls_fmp4_init_filename init.mp4 \
    -hls_segment_filename "hls/stream_%v/seg_%03d.m4s" \
    -master_pl_name master.m3u8 \
    -var_stream_map "v:0,agroup:aud,name:1080p v:1,agroup:aud,name:720p v:2,agroup:aud,name:480p v:3,agroup:aud,name:360p a:0,agroup:aud,name:audio,default:yes" \
    "hls/stream_%v/index.m3u8" </dev/null >"$2.log" 2>&1; } 2>"$2.time")
  local rc=$?
  [ $rc = 0 ] || { tail -n 20 "$2.log" >&2; return 1; }
  tail -n1 "$2.time"
}
run_ours() {
  { time "$DRIVER" "$1" "$2" "$LADDER" "$X264_PRESET" </dev/null >"$2.log" 2>&1; } 2>"$2.time"
  local rc=$?
  [ $rc = 0 ] || { tail -n 20 "$2.log" >&2; return 1; }
  tail -n1 "$2.time"
}
TIMEFORMAT='%R %U %S'

median() { # numbers on stdin
  sort -g | awk '{a[NR]=$1} END {if (NR%2) printf "%.2f", a[(NR+1)/2]; else printf "%.2f", (a[NR/2]+a[NR/2+1])/2}'
}

# rung720 TOOL DIR OUT.mp4: concatenate the 720p rendition (init + segments).
rung720() {
  local d
  if [ "$1" = ffmpeg ]; then
    d="$2/hls/stream_720p"
  else
    d=$(/usr/bin/python3 -c '
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
for r in s.get("renditions", []):
    if r.get("kind") == "video" and r.get("height") == 720:
        print(sys.argv[1] + "/" + r["dir"]); break
' "$2" 2>/dev/null)
    [ -n "$d" ] || d=$(ls -d "$2"/v720p* 2>/dev/null | head -n1)
  fi
  # ffmpeg names the init segment of variant N init_N.mp4 when there are several variants
  local init
  init=$(ls "$d"/init*.mp4 2>/dev/null | head -n1)
  [ -n "$init" ] || return 1
  cat "$init" $(ls "$d"/seg_*.m4s | sort) >"$3"
}

# quality REF.mp4 RUNG.mp4: "ssim psnr kbit/s"
quality() {
  local out
  out=$(ffmpeg -hide_banner -nostdin -nostats -i "$2" -i "$1" -lavfi \
    "[0:v]settb=AVTB,setpts=PTS-STARTPTS,split[a1][a2];[1:v]scale=w=1280:h=720,settb=AVTB,setpts=PTS-STARTPTS,split[b1][b2];[a1][b1]ssim;[a2][b2]psnr" \
    -f null - 2>&1)
  local ssim psnr kbps
  ssim=$(printf '%s\n' "$out" | sed -n 's/.*SSIM Y:.* All:\([0-9.]*\).*/\1/p' | tail -n1)
  psnr=$(printf '%s\n' "$out" | sed -n 's/.*PSNR y:.* average:\([0-9.inf]*\).*/\1/p' | tail -n1)
  local secs
  secs=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$2")
  kbps=$(awk -v b="$(stat -c %s "$2")" -v s="$secs" 'BEGIN {printf "%.0f", b * 8 / s / 1000}')
  echo "${ssim:-?} ${psnr:-?} ${kbps:-?}"
}

declare -A MED_FF MED_OURS FRAMES Q_FF Q_OURS
for s in src src_noise; do
  src="$tmp/$s.mp4"
  FRAMES[$s]=$(ffprobe -v error -select_streams v:0 -count_packets \
    -show_entries stream=nb_read_packets -of csv=p=0 "$src")
  echo "== $s.mp4 (${FRAMES[$s]} frames)"
  ff_times=() our_times=()
  for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) = 1 ]; then order="ffmpeg ours"; else order="ours ffmpeg"; fi
    for tool in $order; do
      dir="$tmp/out_${s}_${tool}_$r"
      rm -rf "$dir" "$dir.log" "$dir.time"
      if [ "$tool" = ffmpeg ]; then
        t=$(run_ffmpeg "$src" "$dir") || fail "ffmpeg failed on $s (round $r)"
        ff_times+=("${t%% *}")
      else
        t=$(run_ours "$src" "$dir") || fail "libstream failed on $s (round $r)"
        our_times+=("${t%% *}")
      fi
      read -r real user sys <<<"$t"
      printf '  round %d %-7s wall %6.2f s  user %6.2f s  sys %5.2f s  %6.1f fps\n' "$r" "$tool" \
        "$real" "$user" "$sys" "$(awk -v f="${FRAMES[$s]}" -v t="$real" 'BEGIN {print f / t}')"
      # keep the last round's output of each tool for the quality check
      if [ "$r" -gt 1 ]; then rm -rf "$tmp/out_${s}_${tool}_$((r - 1))"; fi
    done
  done
  MED_FF[$s]=$(printf '%s\n' "${ff_times[@]}" | median)
  MED_OURS[$s]=$(printf '%s\n' "${our_times[@]}" | median)
  for tool in ffmpeg ours; do
    if rung720 "$tool" "$tmp/out_${s}_${tool}_$rounds" "$tmp/${s}_${tool}_720p.mp4"; then
      q=$(quality "$src" "$tmp/${s}_${tool}_720p.mp4")
    else
      q="? ? ?"
    fi
    if [ "$tool" = ffmpeg ]; then Q_FF[$s]=$q; else Q_OURS[$s]=$q; fi
    rm -rf "$tmp/out_${s}_${tool}_$rounds" "$tmp/${s}_${tool}_720p.mp4"
  done
done

sei=$(grep -a -o -m1 'x264 - core [0-9]* r[0-9]* [0-9a-f]*' "$tmp/src.mp4" 2>/dev/null | head -n1)
echo "== results (median wall time of $rounds round(s); fps = source frames / wall s; 720p vs source scaled to 1280x720)"
echo "x264 ${sei#x264 - }"
printf '%-10s %6s %9s %9s %8s %8s %9s %9s %9s %9s %10s %10s\n' source frames ffmpeg_s ours_s ffmpeg_fps ours_fps \
  ratio ssim_ff ssim_ours psnr_ff psnr_ours kbps_ff/ours
for s in src src_noise; do
  read -r sf pf kf <<<"${Q_FF[$s]}"
  read -r so po ko <<<"${Q_OURS[$s]}"
  awk -v s="$s" -v n="${FRAMES[$s]}" -v tf="${MED_FF[$s]}" -v to="${MED_OURS[$s]}" \
    -v sf="$sf" -v so="$so" -v pf="$pf" -v po="$po" -v kf="$kf" -v ko="$ko" 'BEGIN {
      printf "%-10s %6d %9.2f %9.2f %10.1f %8.1f %9.3f %9s %9s %9s %9s %10s\n",
        s, n, tf, to, n / tf, n / to, tf / to, sf, so, pf, po, kf "/" ko }'
done
echo "ratio = ffmpeg wall time / libstream wall time (> 1: libstream is faster; issue #4 target >= 1.10)"
exit 0
