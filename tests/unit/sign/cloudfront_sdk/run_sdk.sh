#!/bin/bash
# Cross-checks libstream's CloudFront signing with AWS's @aws-sdk/cloudfront-signer:
# `run_sdk.sh TEST_EXE` installs the pinned SDK (npm ci, package-lock.json) when
# node_modules is missing, then runs TEST_EXE with this directory's sdk.mjs.
# Fails (never skips) when node or npm is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exe="${1:?usage: run_sdk.sh TEST_EXE}"
command -v node >/dev/null || { echo "node not found: cannot run @aws-sdk/cloudfront-signer" >&2; exit 1; }
if [ ! -d "$here/node_modules/@aws-sdk/cloudfront-signer" ]; then
  command -v npm >/dev/null || { echo "npm not found: cannot install the SDK" >&2; exit 1; }
  # one installer at a time (several build dirs may run this test together)
  exec 9>"${TMPDIR:-/tmp}/libstream-cloudfront-npm.lock"
  flock 9
  if [ ! -d "$here/node_modules/@aws-sdk/cloudfront-signer" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  flock -u 9
fi
exec "$exe" "$here/sdk.mjs"
