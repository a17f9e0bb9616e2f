#!/usr/bin/env bash
# `make demo-sign`: a short signing demo with streamctl (make run starts streamd).
# Keys are generated into a private data directory (mode 0700, files 0600), never printed.
set -euo pipefail
build=${1:-build}
ctl="$build/daemon/streamctl"
[ -x "$ctl" ] || { echo "demo: $ctl not built; run make build" >&2; exit 1; }
data=${STREAM_DEMO_DIR:-.demo}
mkdir -p "$data"
chmod 700 "$data"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Print each command shell-quoted (URLs hold '&'), so it pastes as it ran.
run() { printf '$'; printf ' %q' "$@"; printf '\n'; "$@"; }

"$ctl" --version
if [ ! -f "$data/native.key" ]; then
  say "generate keys (written to $data/, mode 0600)"
  run "$ctl" keygen --type hmac --id k1 --out "$data/native.key"
  run "$ctl" keygen --type hmac --bytes 16 --id cdn-key --out "$data/cloudcdn.key"
  run "$ctl" keygen --type ed25519 --id edkey --out "$data/media.key" --public-out "$data/media.pub"
fi
if [ ! -f "$data/cloudfront.pem" ]; then
  run "$ctl" keygen --type rsa --id K2JCJMDEHXQW5F --out "$data/cloudfront.pem" \
    --public-out "$data/cloudfront.pub.pem"
fi

say "native format: a path-component token, so relative segment URIs in the manifest inherit it"
url=$("$ctl" sign-url https://cdn.example.com/v/title-42/master.m3u8 --path-component \
      --key-name k1 --key-file "$data/native.key" --expires-in 1h)
echo "$url"
seg="${url%/master.m3u8}/720p/seg_001.m4s"
say "a segment under the same token verifies"
run "$ctl" verify-url "$seg" --key-name k1 --key-file "$data/native.key"
say "an edited URL is refused, with the reason"
bad=$(printf '%s' "$url" | sed 's/title-42/title-43/')
if run "$ctl" verify-url "$bad" --key-name k1 --key-file "$data/native.key"; then
  echo "demo: the edited URL verified" >&2
  exit 1
fi

say "Google Cloud CDN signed URL (HMAC-SHA1), as gcloud compute sign-url makes it"
cdn=$("$ctl" sign-url https://cdn.example.com/v/title-42/poster.jpg --format cloud-cdn \
      --key-name cdn-key --key-file "$data/cloudcdn.key" --expires-in 10m)
echo "$cdn"
run "$ctl" verify-url "$cdn" --format cloud-cdn --key-name cdn-key --key-file "$data/cloudcdn.key"

say "Google Media CDN edge-cache-token (Ed25519) for a path glob"
tok=$("$ctl" sign-url https://media.example.com/tv/title-42/master.m3u8 --format media-cdn --token \
      --path-globs '/tv/title-42/*' --key-name edkey --key-file "$data/media.key" --expires-in 1h)
echo "$tok"
run "$ctl" verify-url "$tok" --format media-cdn --token --key-name edkey --key-file "$data/media.pub"

say "Amazon CloudFront signed cookies for a title prefix (custom policy, RSA-SHA1), as the AWS SDK makes them"
run "$ctl" sign-url --format cloudfront --cookie --prefix 'https://d111111abcdef8.cloudfront.net/v/title-42/*' \
  --key-name K2JCJMDEHXQW5F --key-file "$data/cloudfront.pem" --expires-in 6h
cf=$("$ctl" sign-url https://d111111abcdef8.cloudfront.net/v/title-42/poster.jpg --format cloudfront \
      --key-name K2JCJMDEHXQW5F --key-file "$data/cloudfront.pem" --expires-in 10m)
echo "$cf"
run "$ctl" verify-url "$cf" --format cloudfront --key-name K2JCJMDEHXQW5F \
  --key-file "$data/cloudfront.pub.pem"

say "Argon2id password hash (password read from stdin)"
printf 'correct horse battery staple\n' | run "$ctl" hash-password

echo
echo "demo: done. Keys are in $data/; see docs/streamctl.md for every verb."
