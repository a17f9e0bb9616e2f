#!/usr/bin/env bash
# Install into a scratch prefix and build a program against it with pkg-config only:
# proves the installed headers, libstream.pc, SONAME and exported symbols are usable.
set -euo pipefail
build=${1:-build}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --destdir "$dest" --quiet
pc=$(find "$dest" -name libstream.pc | head -n1)
pcdir=$(dirname "$pc")
# Relocate the installed prefix into the scratch directory.
prefix=$(sed -n 's/^prefix=//p' "$pc")
sed -i "s|^prefix=.*|prefix=$dest$prefix|" "$pc"
cat > "$dest/hello.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <stream/stream.h>
int main(void)
{
  stream_keyring *ring = NULL;
  stream_key *key = NULL;
  char *url = NULL;
  stream_native_sign_options o = STREAM_NATIVE_SIGN_OPTIONS_INIT;
  o.expires = 4102444800; /* 2100-01-01 */
  if (stream_keyring_new(&ring) || stream_key_generate(&key, STREAM_KEY_HMAC, "k1", 32) ||
      stream_keyring_add(ring, key) ||
      stream_sign_native_url(&url, ring, "https://cdn.example.com/a.m3u8", &o)) {
    fprintf(stderr, "failed: %s\n", stream_error_last()->message);
    return 1;
  }
  stream_native_result r;
  int rc = stream_sign_native_verify(&r, ring, url, NULL, 0, NULL);
  printf("libstream %s: %s -> %s\n", stream_version(), url, stream_sign_reason_str(r.reason));
  stream_free(url);
  stream_key_free(key);
  stream_keyring_free(ring);
  return rc == STREAM_OK && STREAM_VERSION_NUMBER == stream_version_number() ? 0 : 1;
}
C
export PKG_CONFIG_PATH="$pcdir"
flags=$(pkg-config --cflags --libs libstream)
cc -std=c11 -Wall -Wextra -Werror "$dest/hello.c" -o "$dest/hello" $flags
libdir=$(pkg-config --variable=libdir libstream)
readelf -d "$libdir/libstream.so.0" | grep -q 'SONAME.*libstream.so.0' || { echo "install-check: SONAME is not libstream.so.0" >&2; exit 1; }
LD_LIBRARY_PATH="$libdir" "$dest/hello"
echo "install-check: OK (pkg-config --cflags --libs libstream works from the installed tree)"
