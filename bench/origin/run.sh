#!/usr/bin/env bash
# bench/origin: streamd's signed origin against nginx serving the same 1 MiB segment with
# sendfile, measured with wrk over keep-alive in the same run (issue #6 "Performance").
#
# Usage: bench/origin/run.sh [STREAMD [STREAMCTL]]
#   defaults: build/daemon/streamd/streamd and build/daemon/streamctl under the source root.
# Environment (all optional):
#   BENCH_DURATION       seconds per wrk run                       (default 10)
#   BENCH_CONNECTIONS    wrk connections, same for every run       (default 16)
#   BENCH_WRK_THREADS    wrk threads, same for every run           (default 2)
#   BENCH_ROUNDS         interleaved nginx/streamd rounds          (default 2)
#   BENCH_SERVER_THREADS streamd --threads and nginx worker_processes (default: online CPUs);
#                        streamd serves with one thread per connection (max_connections <= 1024,
#                        daemon/streamd/http.c), so --threads only sizes its SQLite reader pool
#
# Runs, with the same wrk -t/-c/-d and --latency:
#   1. nginx (own config in a temp dir, sendfile on) serving the segment as a static file;
#   2. streamd GET /v1/media/<asset>/h720/stream-token=.../v720p_3000/seg_00001.m4s: native
#      path-token verification (HMAC-SHA256), cap check, O_NOFOLLOW open, sendfile.
# Prints the environment, req/s, MiB/s, p99 and server CPU time per request (user + system time
# of the server's processes from /proc, less sensitive to a busy host than req/s) of each run
# and the ratio streamd / nginx (issue #6 target: >= 0.8). A benchmark, not a test: no
# thresholds. Exits 0 with
# "skipped: ..." when wrk or nginx is missing (tools/install-deps.sh installs both).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
streamd=${1:-$root/build/daemon/streamd/streamd}
streamctl=${2:-$root/build/daemon/streamctl}
duration=${BENCH_DURATION:-10}
conns=${BENCH_CONNECTIONS:-16}
wrk_threads=${BENCH_WRK_THREADS:-2}
rounds=${BENCH_ROUNDS:-2}
cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)
server_threads=${BENCH_SERVER_THREADS:-$cpus}

wrk_bin=$(command -v wrk || true)
nginx_bin=$(command -v nginx || true)
[ -n "$nginx_bin" ] || { [ -x /usr/sbin/nginx ] && nginx_bin=/usr/sbin/nginx; } || true
if [ -z "$wrk_bin" ] || [ -z "$nginx_bin" ]; then
  echo "bench-origin: skipped: wrk/nginx not installed (Debian packages wrk, nginx-light; see tools/install-deps.sh)"
  exit 0
fi
command -v python3 >/dev/null || { echo "bench-origin: skipped: python3 not installed"; exit 0; }
for b in "$streamd" "$streamctl"; do
  [ -x "$b" ] || { echo "bench-origin: $b not found (build with the server feature, or pass its path)" >&2; exit 1; }
done
for v in duration conns wrk_threads server_threads rounds; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench-origin: $v must be a positive integer, got '${!v}'" >&2; exit 1; }
done
if (( conns % wrk_threads != 0 || conns < wrk_threads )); then
  echo "bench-origin: BENCH_CONNECTIONS ($conns) must be a multiple of BENCH_WRK_THREADS ($wrk_threads)" >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-origin.XXXXXX")
streamd_pid=""
nginx_pid=""
cleanup() {
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  [ -n "$streamd_pid" ] && kill "$streamd_pid" 2>/dev/null && wait "$streamd_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# --- the asset: one 1 MiB segment of a 720p rendition, with the summary the cap check reads ---
asset=bench-asset
rdir=v720p_3000
mkdir -p "$tmp/data/media/$asset/$rdir" "$tmp/nginx/www/$rdir"
head -c 1048576 /dev/urandom >"$tmp/data/media/$asset/$rdir/seg_00001.m4s"
cp "$tmp/data/media/$asset/$rdir/seg_00001.m4s" "$tmp/nginx/www/$rdir/seg_00001.m4s"
printf '{"renditions":[{"id":"%s","kind":"video","dir":"%s","width":1280,"height":720}]}\n' \
  "$rdir" "$rdir" >"$tmp/data/media/$asset/summary.json"
chmod -R go-rwx "$tmp/data"

# --- streamd ---------------------------------------------------------------------------
touch "$tmp/streamd.out"
STREAMD_OPERATOR_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n') "$streamd" \
  --port 0 --listen-address 127.0.0.1 --data-dir "$tmp/data" --threads "$server_threads" \
  --max-connections $((conns + 64)) --log-level warn --access-log /dev/null \
  >"$tmp/streamd.out" 2>"$tmp/streamd.err" &
streamd_pid=$!
for _ in $(seq 1 300); do
  [ "$(wc -l <"$tmp/streamd.out")" -ge 1 ] && break
  kill -0 "$streamd_pid" 2>/dev/null || { echo "bench-origin: streamd exited:" >&2; cat "$tmp/streamd.err" >&2; exit 1; }
  sleep 0.2
done
port=$(head -n1 "$tmp/streamd.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["port"])')
# The daemon generated its media key on start; sign the session prefix with it.
prefix="http://127.0.0.1:$port/v1/media/$asset/h720/"
url=$("$streamctl" sign-url "${prefix}$rdir/seg_00001.m4s" --key-name media-1 \
      --key-file "$tmp/data/keys/media.key" --expires-in 1h --path-component --prefix "$prefix")
python3 - "$url" "$tmp/nginx/www/$rdir/seg_00001.m4s" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=10).read()
if body != open(sys.argv[2], "rb").read():
    sys.exit("bench-origin: streamd did not serve the segment")
PY

# --- nginx ----------------------------------------------------------------------------
nport=$(free_port)
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root root;"
cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
$user_line
worker_processes $server_threads;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type video/iso.segment;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$nport;
    root $tmp/nginx/www;
    location /$rdir/ { etag on; }
  }
}
EOF
"$nginx_bin" -e "$tmp/nginx/error.log" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" 2>"$tmp/nginx/start.err" &
nginx_pid=$!
ok=""
for _ in $(seq 1 100); do
  if python3 -c 'import sys,urllib.request; sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).read() == open(sys.argv[2],"rb").read() else 1)' \
       "http://127.0.0.1:$nport/$rdir/seg_00001.m4s" "$tmp/nginx/www/$rdir/seg_00001.m4s" 2>/dev/null; then ok=1; break; fi
  kill -0 "$nginx_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$ok" ] || { echo "bench-origin: nginx did not serve the file" >&2; cat "$tmp/nginx/error.log" >&2 2>/dev/null || true; exit 1; }

# --- environment ----------------------------------------------------------------------
mhd_version=$(dpkg-query -W -f='${Version}' libmicrohttpd12 2>/dev/null ||
              pkg-config --modversion libmicrohttpd 2>/dev/null || echo unknown)
echo "bench-origin: environment"
echo "  cpu:            $cpus online ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || echo unknown))"
echo "  kernel:         $(uname -sr)"
echo "  nginx:          $("$nginx_bin" -v 2>&1 | sed 's/.*version: //')"
echo "  libmicrohttpd:  $mhd_version"
echo "  streamd:        $("$streamd" --version 2>/dev/null | head -n1 || echo unknown)"
echo "  server threads: nginx worker_processes $server_threads; streamd one per connection" \
  "(--threads $server_threads sizes its SQLite readers)"
echo "  wrk:            -t $wrk_threads -c $conns -d ${duration}s --latency (client on the same host)"
echo "  payload:        1 MiB segment; streamd verifies a native path token on every request"
echo

# --- runs -----------------------------------------------------------------------------
declare -A rps p99 bad cpu_ms
clk_tck=$(getconf CLK_TCK)
# utime + stime (clock ticks) of the given processes, their finished threads included.
cpu_ticks() {
  local t=0 pid f
  for pid in "$@"; do
    f=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    read -r -a f <<<"$f"
    t=$((t + f[11] + f[12]))
  done
  echo "$t"
}
server_pids() {
  case $1 in
    nginx-sendfile) echo "$nginx_pid" $(pgrep -P "$nginx_pid" || true) ;;
    *) echo "$streamd_pid" ;;
  esac
}
run() {
  local name=$1; shift
  echo "== $name"
  local out pids c0 c1
  pids=$(server_pids "$name")
  c0=$(cpu_ticks $pids)
  out=$("$wrk_bin" -t "$wrk_threads" -c "$conns" -d "${duration}s" --latency "$@")
  c1=$(cpu_ticks $pids)
  printf '  %s\n' "${out//$'\n'/$'\n'  }"
  local line
  line=$(echo "$out" | grep '^BENCH ' | tail -n1)
  [ -n "$line" ] || { echo "bench-origin: no result line from wrk for $name" >&2; exit 1; }
  rps[$name]=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<<"$line")
  p99[$name]=$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' <<<"$line")
  bad[$name]=$(sed -n 's/.* non2xx=\([0-9]*\) errors=\([0-9]*\).*/non-2xx \1, socket errors \2/p' <<<"$line")
  local reqs
  reqs=$(sed -n 's/.*requests=\([0-9]*\) .*/\1/p' <<<"$line")
  cpu_ms[$name]=$(python3 -c 'import sys; print("%.3f" % ((int(sys.argv[2]) - int(sys.argv[1])) * 1000.0 / int(sys.argv[3]) / max(int(sys.argv[4]), 1)))' \
                  "$c0" "$c1" "$clk_tck" "${reqs:-0}")
  echo "  server CPU: ${cpu_ms[$name]} ms per request"
  echo
}
# Interleaved rounds (the host may be busy with other work): each figure is the mean of its runs.
declare -A sum_rps sum_cpu
for n in nginx-sendfile streamd-origin; do sum_rps[$n]=0; sum_cpu[$n]=0; done
for r in $(seq 1 "$rounds"); do
  run nginx-sendfile -s "$root/bench/http/get.lua" "http://127.0.0.1:$nport/$rdir/seg_00001.m4s"
  run streamd-origin -s "$root/bench/http/get.lua" "$url"
  for n in nginx-sendfile streamd-origin; do
    sum_rps[$n]=$(python3 -c "print(${sum_rps[$n]} + ${rps[$n]})")
    sum_cpu[$n]=$(python3 -c "print(${sum_cpu[$n]} + ${cpu_ms[$n]})")
  done
done
for n in nginx-sendfile streamd-origin; do
  rps[$n]=$(python3 -c "print('%.1f' % (${sum_rps[$n]} / $rounds))")
  cpu_ms[$n]=$(python3 -c "print('%.3f' % (${sum_cpu[$n]} / $rounds))")
done

echo "bench-origin: results (wrk -t $wrk_threads -c $conns -d ${duration}s, 1 MiB per request," \
  "mean of $rounds interleaved rounds for req/s and server CPU; p99 and failures of the last round)"
printf '  %-16s %16s %10s %14s   %s\n' run "req/s (= MiB/s)" p99_ms "CPU ms/req" failures
for n in nginx-sendfile streamd-origin; do
  printf '  %-16s %16s %10s %14s   %s\n' "$n" "${rps[$n]}" "${p99[$n]}" "${cpu_ms[$n]}" "${bad[$n]}"
done
ratio=$(python3 -c 'import sys; print("%.3f" % (float(sys.argv[1]) / float(sys.argv[2])))' \
        "${rps[streamd-origin]}" "${rps[nginx-sendfile]}")
echo "  ratio streamd-origin / nginx-sendfile: $ratio (issue #6 target: >= 0.8; informational)"
