#!/usr/bin/env bash
# `make run`: streamd on http://127.0.0.1:8080 in the foreground, with the demo catalog and a demo
# account (--seed-demo), its data in ./data (mode 0700: SQLite database, keys/access.key 0600,
# demo-credentials.json 0600, operator.token 0600). Ctrl-C stops it (drained, exit 0).
#
# It also serves the web player (examples/web, npm ci on first use) at the same address, with
# placeholder artwork generated into examples/web/static/art/ (tools/demo_art.py, gitignored)
# and, on the first start, makes the title lantern-road playable (tools/seed_demo_media.py).
#
#   tools/run.sh [BUILD_DIR]        environment: DATA_DIR (./data), PORT (8080),
#                                   DEMO_CATALOG (examples/data/demo-catalog.json),
#                                   WEB_ROOT (examples/web)
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
import json, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for streamd; print until it exits
for line in sys.stdin:
    try:
        ev = json.loads(line)
    except ValueError:
        print(line, end=""); continue
    if ev.get("event") == "listening":
        print("\nstreamd is listening on %s port %s (Ctrl-C stops it)" % (ev["address"], ev["port"]))
    elif ev.get("event") == "demo" and ev.get("password_changed"):
        print("""
  address          %s
  demo account     %s
  demo password    (changed since it was generated: yours; to get a new random one, stop,
                   delete %s and run again)
  TV sign-in page  %s
  operator token   %s (Authorization: Bearer for /v1/admin/...)
""" % (ev["url"], ev["email"], sys.argv[2], ev["activate"], sys.argv[1]))
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
' "$token_file" "$data/demo-credentials.json"
}

# The web player (examples/web): its pinned player libraries come from npm (npm ci fills
# node_modules; its postinstall copies hls.js and dash.js into examples/web/vendor/).
web=${WEB_ROOT:-examples/web}
if [ ! -s "$web/vendor/dash.all.min.js" ] || [ "$web/package-lock.json" -nt "$web/vendor/dash.all.min.js" ]; then
  echo "run: installing the web player's npm packages (npm ci in $web)"
  (cd "$web" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
fi
# Placeholder posters and backdrops for the catalog's /static/art/ URLs (gradients with the
# title's name, tools/demo_art.py; files that exist are kept). Cosmetic: without them the
# player shows name boxes, so a failure is only a warning. Public files: umask 022 here.
if ! (umask 022 && python3 tools/demo_art.py --catalog "$catalog" --out "$web/static/art"); then
  echo "run: warning: no demo artwork generated (see above); the player shows title names" >&2
fi

echo "run: starting $streamd (data in $data, logs on stderr, access log in $data/access.log)"
# streamd runs in the background so the demo title can be seeded once it listens; Ctrl-C
# (ignored by background jobs of a script) is passed on as SIGTERM, which drains it.
"$streamd" --listen-address 127.0.0.1 --port "$port" --data-dir "$data" \
  --operator-token-file "$token_file" --access-log "$data/access.log" \
  --seed-demo --demo-catalog "$catalog" --web-root "$web" > >(banner) &
streamd_pid=$!
trap 'kill -TERM "$streamd_pid" 2>/dev/null || true' INT TERM

# First start: make the demo title playable (ffmpeg source -> tus upload -> transcode job ->
# asset) and give the demo account a subscription; later starts find both and do nothing.
url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  [ -s "$data/demo-credentials.json" ] && python3 -c 'import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2)' "$url/readyz" 2>/dev/null && break
  kill -0 "$streamd_pid" 2>/dev/null || break
  sleep 0.2
done
if kill -0 "$streamd_pid" 2>/dev/null; then
  if python3 tools/seed_demo_media.py --url "$url" --operator-token-file "$token_file" \
    --credentials "$data/demo-credentials.json" --title lantern-road >/dev/null; then
    printf '\n  web player       %s/  (sign in with the demo account; ?player=dash for dash.js)\n' "$url"
    printf '  playable title   %s/#/title/lantern-road\n\n' "$url"
  else
    echo "run: the demo title could not be made playable (see above); streamd keeps running" >&2
  fi
fi
# A trapped signal interrupts the first wait; the second gives streamd's own exit status
# (bash keeps it when streamd had already exited).
wait "$streamd_pid" || true
status=0
wait "$streamd_pid" || status=$?
exit "$status"
