#!/usr/bin/env bash
# bench/http: streamd against nginx on loopback, measured with wrk (issue #3 "Performance").
#
# Usage: bench/http/run.sh [STREAMD]
#   STREAMD defaults to build/daemon/streamd/streamd under the source root.
# Environment (all optional):
#   BENCH_DURATION      seconds per wrk run                       (default 10)
#   BENCH_CONNECTIONS   wrk connections, same for every run       (default 32)
#   BENCH_WRK_THREADS   wrk threads, same for every run           (default 2)
#   BENCH_SERVER_THREADS streamd --threads and nginx worker_processes (default: online CPUs)
#
# Runs, with the same wrk -t/-c/-d and --latency:
#   1. nginx (started here, own config in a temp dir) serving a title's detail JSON as a
#      static file: the exact bytes streamd returned for GET /v1/titles/{id};
#   2. streamd GET /v1/titles/{id} with the demo viewer's bearer token;
#   3. streamd POST /v1/auth/refresh with rotating refresh tokens (refresh.lua).
# Prints the environment, req/s and p99 of each run and the ratio streamd-detail / nginx.
# A benchmark, not a test: there are no thresholds. Exits 0 with "skipped: ..." when wrk or
# nginx is not installed (tools/install-deps.sh installs both).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
streamd=${1:-$root/build/daemon/streamd/streamd}
duration=${BENCH_DURATION:-10}
conns=${BENCH_CONNECTIONS:-32}
wrk_threads=${BENCH_WRK_THREADS:-2}
cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)
server_threads=${BENCH_SERVER_THREADS:-$cpus}

wrk_bin=$(command -v wrk || true)
nginx_bin=$(command -v nginx || true)
[ -n "$nginx_bin" ] || { [ -x /usr/sbin/nginx ] && nginx_bin=/usr/sbin/nginx; } || true
if [ -z "$wrk_bin" ] || [ -z "$nginx_bin" ]; then
  echo "bench-http: skipped: wrk/nginx not installed (Debian packages wrk, nginx-light; see tools/install-deps.sh)"
  exit 0
fi
command -v python3 >/dev/null || { echo "bench-http: skipped: python3 not installed"; exit 0; }
if [ ! -x "$streamd" ]; then
  echo "bench-http: streamd not found at $streamd (build with the server feature, or pass its path)" >&2
  exit 1
fi
for v in duration conns wrk_threads server_threads; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench-http: $v must be a positive integer, got '${!v}'" >&2; exit 1; }
done
if (( conns % wrk_threads != 0 || conns < wrk_threads )); then
  echo "bench-http: BENCH_CONNECTIONS ($conns) must be a multiple of BENCH_WRK_THREADS ($wrk_threads)" >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-http.XXXXXX")
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

# --- streamd ---------------------------------------------------------------------------
# Ephemeral port, temp data dir, demo data; the sign-in rate limits are off because the
# refresh run needs one login per wrk connection. The access log goes to /dev/null (nginx
# runs with access_log off); streamd still formats every line.
touch "$tmp/streamd.out" # polled below before streamd writes to it
op_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
STREAMD_OPERATOR_TOKEN=$op_token "$streamd" --port 0 --listen-address 127.0.0.1 \
  --data-dir "$tmp/data" --seed-demo --demo-catalog "$root/examples/data/demo-catalog.json" \
  --threads "$server_threads" \
  --max-connections $((conns + 64)) --log-level warn --access-log /dev/null \
  --login-account-burst 0 --login-address-burst 0 \
  >"$tmp/streamd.out" 2>"$tmp/streamd.err" &
streamd_pid=$!
for _ in $(seq 1 300); do
  [ "$(wc -l <"$tmp/streamd.out")" -ge 2 ] && break
  kill -0 "$streamd_pid" 2>/dev/null || { echo "bench-http: streamd exited:" >&2; cat "$tmp/streamd.err" >&2; exit 1; }
  sleep 0.2
done
[ "$(wc -l <"$tmp/streamd.out")" -ge 2 ] || { echo "bench-http: streamd did not start" >&2; cat "$tmp/streamd.err" >&2; exit 1; }
port=$(head -n1 "$tmp/streamd.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["port"])')

# Log in, pick a title, fetch its detail once (the bytes nginx will serve), then one more
# login per wrk connection (+1 per thread) for independent refresh-token families (one line
# per wrk thread).
python3 - "$port" "$tmp/data/demo-credentials.json" "$tmp" "$wrk_threads" $((conns / wrk_threads)) <<'PY'
import http.client, json, sys
port, creds_path, out, nthreads, per_thread = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
creds = json.load(open(creds_path))

def call(method, path, body=None, token=None):
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    h = {}
    if body is not None:
        h["Content-Type"] = "application/json"
        body = json.dumps(body)
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status != 200:
        sys.exit("bench-http: %s %s -> %d %s" % (method, path, r.status, data[:300]))
    return data

def login():
    return json.loads(call("POST", "/v1/auth/login", {"email": creds["email"], "password": creds["password"]}))

access = login()["access_token"]
items = json.loads(call("GET", "/v1/browse?limit=1", token=access))
titles = items.get("items") or items.get("titles") or []
if not titles:
    sys.exit("bench-http: /v1/browse returned no title: %r" % items)
tid = titles[0]["id"]
detail = call("GET", "/v1/titles/" + tid, token=access)
with open(out + "/title.json", "wb") as f:
    f.write(detail)
with open(out + "/access.token", "w") as f:
    f.write(access)
with open(out + "/title.id", "w") as f:
    f.write(tid)
with open(out + "/refresh.tokens", "w") as f:
    for _ in range(nthreads):
        # one per connection + 1 spare (wrk checks the request once before the run: refresh.lua)
        f.write(" ".join(login()["refresh_token"] for _ in range(per_thread + 1)) + "\n")
PY
title_id=$(cat "$tmp/title.id")
access=$(cat "$tmp/access.token")

# --- nginx ----------------------------------------------------------------------------
nport=$(free_port)
mkdir -p "$tmp/nginx/www"
cp "$tmp/title.json" "$tmp/nginx/www/title.json"
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root root;"   # workers must read the 0700 temp dir
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
  default_type application/json;
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
    location = /title.json { }
  }
}
EOF
"$nginx_bin" -e "$tmp/nginx/error.log" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" 2>"$tmp/nginx/start.err" &
nginx_pid=$!
ok=""
for _ in $(seq 1 100); do
  if python3 -c 'import sys,urllib.request; sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).read() == open(sys.argv[2],"rb").read() else 1)' \
       "http://127.0.0.1:$nport/title.json" "$tmp/title.json" 2>/dev/null; then ok=1; break; fi
  kill -0 "$nginx_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ok" ]; then
  echo "bench-http: nginx did not serve the file" >&2
  cat "$tmp/nginx/start.err" "$tmp/nginx/error.log" >&2 2>/dev/null || true
  exit 1
fi

# --- environment ----------------------------------------------------------------------
mhd_version=$(dpkg-query -W -f='${Version}' libmicrohttpd12 2>/dev/null ||
              pkg-config --modversion libmicrohttpd 2>/dev/null || echo unknown)
echo "bench-http: environment"
echo "  cpu:            $cpus online ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || echo unknown))"
echo "  kernel:         $(uname -sr)"
echo "  nginx:          $("$nginx_bin" -v 2>&1 | sed 's/.*version: //')"
echo "  wrk:            $("$wrk_bin" -v 2>&1 | head -n1 | awk '{print $2}')"
echo "  libmicrohttpd:  $mhd_version"
echo "  streamd:        $("$streamd" --version 2>/dev/null | head -n1 || echo unknown)"
echo "  server threads: streamd --threads $server_threads, nginx worker_processes $server_threads"
echo "  wrk:            -t $wrk_threads -c $conns -d ${duration}s --latency (client on the same host)"
echo "  payload:        GET /v1/titles/$title_id, $(wc -c <"$tmp/title.json") bytes of JSON"
echo

# --- runs -----------------------------------------------------------------------------
declare -A rps p99 bad
run() {   # name, then wrk arguments after the common ones
  local name=$1; shift
  echo "== $name"
  local out
  out=$("$wrk_bin" -t "$wrk_threads" -c "$conns" -d "${duration}s" --latency "$@")
  printf '  %s\n' "${out//$'\n'/$'\n'  }"
  local line
  line=$(echo "$out" | grep '^BENCH ' | tail -n1)
  [ -n "$line" ] || { echo "bench-http: no result line from wrk for $name" >&2; exit 1; }
  rps[$name]=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<<"$line")
  p99[$name]=$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' <<<"$line")
  bad[$name]=$(sed -n 's/.* non2xx=\([0-9]*\) errors=\([0-9]*\).*/non-2xx \1, socket errors \2/p' <<<"$line")
  echo
}
run nginx-static -s "$here/get.lua" "http://127.0.0.1:$nport/title.json"
run streamd-detail -s "$here/get.lua" -H "Authorization: Bearer $access" \
  "http://127.0.0.1:$port/v1/titles/$title_id"
export BENCH_REFRESH_TOKENS="$tmp/refresh.tokens"
run streamd-refresh -s "$here/refresh.lua" "http://127.0.0.1:$port/v1/auth/refresh"

echo "bench-http: results (wrk -t $wrk_threads -c $conns -d ${duration}s)"
printf '  %-16s %12s %10s   %s\n' run req/s p99_ms failures
for n in nginx-static streamd-detail streamd-refresh; do
  printf '  %-16s %12s %10s   %s\n' "$n" "${rps[$n]}" "${p99[$n]}" "${bad[$n]}"
done
ratio=$(python3 -c 'import sys; print("%.3f" % (float(sys.argv[1]) / float(sys.argv[2])))' \
        "${rps[streamd-detail]}" "${rps[nginx-static]}")
echo "  ratio streamd-detail / nginx-static: $ratio (issue #3 target: >= 0.5; informational)"
