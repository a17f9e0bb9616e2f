#!/usr/bin/env bash
# The browser test of the demo web player: installs the pinned npm packages (npm ci; the web
# app's postinstall fills examples/web/vendor/) and runs test_web.mjs with Debian's chromium
# (which first draws the demo artwork into examples/web/static/art/ with tools/demo_art.py,
# as `make run` does: needs ffmpeg).
# Exit 77 (skipped) ONLY when chromium is missing and cannot be installed here (CI installs it
# with apt: tools/install-deps.sh).
#
#   run_web_test.sh STREAMD REPO_ROOT
set -euo pipefail
streamd=${1:?usage: run_web_test.sh STREAMD REPO_ROOT}
root=${2:?usage: run_web_test.sh STREAMD REPO_ROOT}
here=$(cd "$(dirname "$0")" && pwd)
streamd=$(realpath "$streamd")
root=$(realpath "$root")
chromium=${CHROMIUM:-/usr/bin/chromium}

command -v node >/dev/null || { echo "web: node not found (apt: nodejs)" >&2; exit 1; }
if [ ! -x "$chromium" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "web: $chromium missing; installing Debian's chromium with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
      >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
        >/dev/null 2>&1; } || true
  fi
  if [ ! -x "$chromium" ]; then
    echo "SKIP: chromium is not installed and cannot be installed here (not root, or apt failed):"
    echo "SKIP: the browser test of examples/web did not run. Install it: apt-get install chromium"
    exit 77
  fi
fi

# npm ci, one installer at a time (several build dirs may run this together); offline cache OK.
npm_ci() {
  local dir=$1 marker=$2
  exec 9>"${TMPDIR:-/tmp}/libstream-web-npm.lock"
  flock 9
  if [ ! -e "$dir/$marker" ] || [ "$dir/package-lock.json" -nt "$dir/$marker" ]; then
    (cd "$dir" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
  fi
  flock -u 9
}
npm_ci "$here" node_modules/playwright-core/package.json
npm_ci "$root/examples/web" vendor/dash.all.min.js

cd "$here"
exec node --test-reporter=spec test_web.mjs --streamd "$streamd" --root "$root" --chromium "$chromium"
