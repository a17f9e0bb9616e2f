#!/usr/bin/env bash
# bench/events: durable event ingest and the emitter's CPU per event (issue #7 "Performance").
#
# Usage: bench/events/run.sh STREAMD BENCH_EVENTS
# Environment (optional): BENCH_DURATION seconds per ingest run (default 10),
#   BENCH_CONNECTIONS keep-alive connections posting batches (default 4),
#   BENCH_EMIT_COUNT events through the emitter (default 200000).
# Prints the environment, then:
#   1. the baseline: stream_events_ingest() in-process, batches of 100, into a fresh store
#      (store sync full, streamd's default), and the same with sync normal: the cost of
#      syncing the WAL at every commit (power-loss durability), as a ratio;
#   2. streamd POST /v1/events, batches of 100 (protobuf) over keep-alive, viewer token:
#      events/s acknowledged (each acknowledged batch is committed), and the ratio to 1;
#   3. the emitter: CPU per event (emit call alone and in total with the sender thread), and the
#      ratio to encoding + gzip of the same batches alone.
# A benchmark, not a test: no thresholds.
set -euo pipefail
streamd=$1
bench=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
duration=${BENCH_DURATION:-10}
conns=${BENCH_CONNECTIONS:-4}
emit_count=${BENCH_EMIT_COUNT:-200000}
command -v python3 >/dev/null || { echo "bench-events: skipped: python3 not installed"; exit 0; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-events.XXXXXX")
streamd_pid=""
cleanup() {
  [ -n "$streamd_pid" ] && kill "$streamd_pid" 2>/dev/null && wait "$streamd_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench-events: $(getconf _NPROCESSORS_ONLN) cores, $(uname -sr), sqlite $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)'), $(curl --version | head -1 | cut -d' ' -f1-2)"
echo "bench-events: batches of 100, ${duration}s per ingest run, ${conns} connections"

mkdir -p "$tmp/lib"
lib_eps=$("$bench" library "$tmp/lib" "$duration" | awk '/library_events_per_s/ {print $2}')
echo "library ingest (baseline, store sync full): $lib_eps events/s"
mkdir -p "$tmp/lib_normal"
lib_normal_eps=$("$bench" library "$tmp/lib_normal" "$duration" normal | awk '/library_events_per_s/ {print $2}')
echo "library ingest, store sync normal (no WAL sync per commit): $lib_normal_eps events/s"
python3 -c "import sys; print('ratio sync full / sync normal: %.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$lib_eps" "$lib_normal_eps"

touch "$tmp/streamd.out"
"$streamd" --port 0 --listen-address 127.0.0.1 --data-dir "$tmp/data" --seed-demo \
  --demo-catalog "$root/examples/data/demo-catalog.json" --log-level warn \
  --access-log /dev/null --login-address-burst 0 >"$tmp/streamd.out" 2>"$tmp/streamd.err" &
streamd_pid=$!
for _ in $(seq 1 300); do
  [ "$(wc -l <"$tmp/streamd.out")" -ge 2 ] && break
  sleep 0.1
done
port=$(sed -n 1p "$tmp/streamd.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["port"])')
url="http://127.0.0.1:$port"
BENCH_TOKEN=$(sed -n 2p "$tmp/streamd.out" | python3 -c '
import json, sys, urllib.request
d = json.load(sys.stdin)
req = urllib.request.Request(sys.argv[1] + "/v1/auth/login", json.dumps(
    {"email": d["email"], "password": d["password"]}).encode(), {"Content-Type": "application/json"})
print(json.loads(urllib.request.urlopen(req).read())["access_token"])' "$url")
export BENCH_TOKEN

http_eps=$("$bench" http "$url" "$duration" "$conns" | awk '/http_events_per_s/ {print $2}')
echo "streamd POST /v1/events: $http_eps events/s"
python3 -c "import sys; print('ratio streamd / library: %.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$http_eps" "$lib_eps"

"$bench" emitter "$url" "$emit_count" >"$tmp/emitter.out"
cat "$tmp/emitter.out" | sed 's/^/emitter: /'
python3 - "$tmp/emitter.out" <<'PY'
import sys
v = dict(l.split() for l in open(sys.argv[1]))
print("ratio emitter CPU / encode+gzip CPU per event: %.2f" %
      (float(v["emitter_cpu_us_per_event"]) / float(v["encode_gzip_cpu_us_per_event"])))
PY
