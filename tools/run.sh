#!/usr/bin/env bash
# `make run`: streamd on http://127.0.0.1:8080 in the foreground, with the demo catalog and a demo
# account (--seed-demo), its data in ./data (mode 0700: SQLite database, keys/access.key 0600,
# demo-credentials.json 0600, operator.token 0600). Ctrl-C stops it (drained, exit 0).
#
#   tools/run.sh [BUILD_DIR]        environment: DATA_DIR (./data), PORT (8080),
#                                   DEMO_CATALOG (examples/data/demo-catalog.json)
set -euo pipefail
build=${1:-build}
streamd="$build/daemon/streamd/streamd"
if [ ! -x "$streamd" ]; then
  echo "run: $streamd is not built: the server feature needs libmicrohttpd-dev and libsqlite3-dev" >&2
  echo "run: (make deps installs them; then make build)" >&2
  exit 1
fi
data=${DATA_DIR:-./data}
port=${PORT:-8080}
catalog=${DEMO_CATALOG:-examples/data/demo-catalog.json}
umask 077
mkdir -p "$data"
chmod 700 "$data"

# A random operator token for the /v1/admin routes (created once, never printed).
token_file="$data/operator.token"
if [ ! -s "$token_file" ]; then
  od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$token_file"
  chmod 600 "$token_file"
fi

# streamd prints two JSON lines on stdout (listening, demo credentials); show them readably.
banner() {
  /usr/bin/env python3 -c '
import json, sys
for line in sys.stdin:
    try:
        ev = json.loads(line)
    except ValueError:
        print(line, end=""); continue
    if ev.get("event") == "listening":
        print("\nstreamd is listening on %s port %s (Ctrl-C stops it)" % (ev["address"], ev["port"]))
    elif ev.get("event") == "demo":
        u = ev["url"]
        print("""
  address          %s
  demo account     %s
  demo password    %s
  TV sign-in page  %s
  operator token   %s (Authorization: Bearer for /v1/admin/...)
  API              docs/api/openapi.yaml, docs/streamd.md

  try:  curl -s %s/v1/auth/login -H "Content-Type: application/json" \\
          -d %s
""" % (u, ev["email"], ev["password"], ev["activate"], sys.argv[1], u,
       "\x27" + json.dumps({"email": ev["email"], "password": ev["password"]}) + "\x27"))
    sys.stdout.flush()
' "$token_file"
}

echo "run: starting $streamd (data in $data, logs on stderr, access log in $data/access.log)"
"$streamd" --listen-address 127.0.0.1 --port "$port" --data-dir "$data" \
  --operator-token-file "$token_file" --access-log "$data/access.log" \
  --seed-demo --demo-catalog "$catalog" | banner
