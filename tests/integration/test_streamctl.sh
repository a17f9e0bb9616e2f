#!/usr/bin/env bash
# CLI integration test for streamctl: runs the built binary end to end.
# Usage: test_streamctl.sh /path/to/streamctl
set -u
S="${1:?usage: $0 /path/to/streamctl}"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
# expect CODE DESCRIPTION CMD...: run CMD, compare its exit status.
expect() {
  local want="$1" what="$2"
  shift 2
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then ok "$what"; else
    bad "$what (exit $got, want $want)"; sed 's/^/    /' "$T/out" "$T/err"; fi
}
contains() { if grep -q -- "$2" "$1"; then ok "$3"; else bad "$3 ('$2' not in $1)"; sed 's/^/    /' "$1"; fi; }

# --help, --version, usage errors.
expect 0 "--help" "$S" --help
contains "$T/out" "sign-url" "--help lists the verbs"
expect 0 "--version" "$S" --version
for v in keygen sign-url verify-url hash-password verify-password; do
  expect 0 "$v --help" "$S" "$v" --help
  contains "$T/out" "Usage: streamctl $v" "$v --help shows its usage"
done
expect 2 "unknown verb" "$S" frobnicate
contains "$T/err" "unknown verb 'frobnicate'" "unknown verb is named on stderr"
expect 2 "no verb" "$S"
expect 2 "unknown flag" "$S" keygen --bogus
contains "$T/err" "unknown option '--bogus'" "unknown flag is named on stderr"
contains "$T/err" "goes after '--'" "unknown flag's message says where a dash argument goes"
# An argument that starts with one '-' is no option (streamctl's options are long, but -h):
# base64url ids start with '-' one time in 64 ("-OoROEEK..." failed streamd-account-delete as
# an unknown option). One that starts with "--" goes after "--".
printf 'x' | "$S" verify-password -OoROEEKDW5Y9r4rtUmNaA >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -ne 2 ] && ! grep -q "unknown option" "$T/err"; then ok "a '-' argument is an argument"; else
  bad "a '-' argument was taken for an option (exit $rc)"; sed 's/^/    /' "$T/err"; fi
printf 'x' | "$S" verify-password -- --OoROEEKDW5Y9r4rtUmNa >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -ne 2 ] && ! grep -q "unknown option" "$T/err"; then ok "'--' ends the options"; else
  bad "an argument after '--' was taken for an option (exit $rc)"; sed 's/^/    /' "$T/err"; fi
expect 0 "-h is still the short form of --help" "$S" verify-password -h
expect 2 "missing --out" "$S" keygen --type hmac
expect 2 "bad duration" "$S" sign-url https://a.example/x --key-name k --key-file /dev/null --expires-in 5y

# keygen: files with mode 0600, no overwrite without --force, secret on stdout only with --out -.
expect 0 "keygen hmac" "$S" keygen --type hmac --out "$T/hmac.key" --id k1
[ -s "$T/out" ] && bad "keygen --out FILE printed something on stdout" || ok "keygen --out FILE keeps stdout empty"
[ "$(stat -c %a "$T/hmac.key")" = 600 ] && ok "secret file mode 0600" || bad "secret file mode $(stat -c %a "$T/hmac.key")"
expect 1 "keygen refuses to overwrite" "$S" keygen --type hmac --out "$T/hmac.key"
contains "$T/err" "--force" "overwrite refusal mentions --force"
expect 0 "keygen --force" "$S" keygen --type hmac --bytes 16 --out "$T/hmac.key" --force
[ "$(stat -c %a "$T/hmac.key")" = 600 ] && ok "forced secret file mode 0600" || bad "forced mode"
expect 0 "keygen --out -" "$S" keygen --type hmac --out -
[ "$(wc -c <"$T/out")" -ge 40 ] && ok "secret printed with --out -" || bad "no secret on stdout"
expect 0 "keygen ed25519" "$S" keygen --type ed25519 --out "$T/ed.key" --public-out "$T/ed.pub"
[ "$(stat -c %a "$T/ed.key")" = 600 ] && ok "ed25519 private key mode 0600" || bad "ed25519 mode"
[ -s "$T/ed.pub" ] && ok "ed25519 public key written" || bad "no public key"
expect 0 "keygen ed25519 pem" "$S" keygen --type ed25519 --out "$T/ed.pem" --format pem --public-format pem
contains "$T/ed.pem" "BEGIN PRIVATE KEY" "PEM private key written"
contains "$T/out" "BEGIN PUBLIC KEY" "PEM public key printed on stdout"

# hash-password via stdin, verify-password.
printf 'hunter2\n' | "$S" hash-password --m 64 --t 1 >"$T/phc" 2>"$T/err"
if [ $? -eq 0 ] && grep -q '^\$argon2id\$v=19\$m=64,t=1,p=1\$' "$T/phc"; then ok "hash-password"; else
  bad "hash-password"; cat "$T/phc" "$T/err"; fi
printf 'hunter2' | "$S" verify-password "$(cat "$T/phc")" >"$T/out" 2>&1 && ok "verify-password match" || bad "verify-password match"
printf 'hunter3' | "$S" verify-password "$(cat "$T/phc")" >"$T/out" 2>&1
[ $? -eq 1 ] && ok "verify-password mismatch exits 1" || bad "verify-password mismatch"
printf 'x' | "$S" verify-password '$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4' >"$T/out" 2>&1
[ $? -eq 1 ] && grep -q "m=4194304" "$T/out" && ok "hostile PHC refused with reason" || bad "hostile PHC"

# sign-url / verify-url, native.
K=(--key-name k1 --key-file "$T/hmac.key")
U="$("$S" sign-url https://cdn.example.com/v/a.mp4 "${K[@]}" --expires-in 1h)" && ok "sign-url native" || bad "sign-url native"
expect 0 "verify-url native" "$S" verify-url "$U" "${K[@]}"
contains "$T/out" "^VALID" "verify-url prints VALID"
expect 1 "tampered URL" "$S" verify-url "${U/a.mp4/b.mp4}" "${K[@]}"
contains "$T/out" "bad signature" "tampered URL reason"
expect 1 "other key id" "$S" verify-url "$U" --key-name k2 --key-file "$T/hmac.key"
contains "$T/out" "unknown key" "unknown key reason"
E="$("$S" sign-url https://cdn.example.com/v/a.mp4 "${K[@]}" --expires-at 1700000000)"
expect 1 "expired URL" "$S" verify-url "$E" "${K[@]}"
contains "$T/out" "expired" "expired reason"
expect 0 "expired URL as of an earlier --now" "$S" verify-url "$E" "${K[@]}" --now 1699999000
P="$("$S" sign-url https://cdn.example.com/v/a.mp4 "${K[@]}" --expires-in 1h --prefix https://cdn.example.com/v/)"
expect 0 "native prefix" "$S" verify-url "$P" "${K[@]}"
C="$("$S" sign-url "${K[@]}" --expires-in 1h --prefix https://cdn.example.com/v/ --cookie)"
expect 0 "native cookie" "$S" verify-url https://cdn.example.com/v/seg.ts --cookie "$C" "${K[@]}"
expect 1 "native cookie outside prefix" "$S" verify-url https://cdn.example.com/w/seg.ts --cookie "$C" "${K[@]}"
contains "$T/out" "outside prefix" "outside prefix reason"
PT="$("$S" sign-url https://cdn.example.com/v/master.m3u8 "${K[@]}" --expires-in 1h --path-component)"
expect 0 "native path token (relative segment)" "$S" verify-url "${PT/master.m3u8/seg1.ts}" "${K[@]}"
I="$("$S" sign-url https://cdn.example.com/v/a.mp4 "${K[@]}" --expires-in 1h --ip 203.0.113.0/24)"
expect 0 "native IP binding" "$S" verify-url "$I" "${K[@]}" --ip 203.0.113.7
expect 1 "native IP mismatch" "$S" verify-url "$I" "${K[@]}" --ip 198.51.100.1
contains "$T/out" "IP mismatch" "IP mismatch reason"
export STREAMCTL_TEST_KEY="$(cat "$T/hmac.key")"
U2="$("$S" sign-url https://a.example/x --key-name k1 --key-env STREAMCTL_TEST_KEY --expires-in 30s)"
expect 0 "--key-env" "$S" verify-url "$U2" --key-name k1 --key-env STREAMCTL_TEST_KEY

# Cloud CDN.
G=(--format cloud-cdn --key-name my-key --key-file "$T/hmac.key")
U="$("$S" sign-url https://cdn.example.com/v/a.mp4 "${G[@]}" --expires-in 1h)"
expect 0 "cloud-cdn url" "$S" verify-url "$U" "${G[@]}"
expect 1 "cloud-cdn tampered" "$S" verify-url "${U/a.mp4/b.mp4}" "${G[@]}"
P="$("$S" sign-url https://cdn.example.com/v/a.mp4 "${G[@]}" --expires-in 1h --prefix https://cdn.example.com/v/)"
expect 0 "cloud-cdn prefix" "$S" verify-url "$P" "${G[@]}"
C="$("$S" sign-url "${G[@]}" --expires-in 1h --prefix https://cdn.example.com/v/ --cookie)"
expect 0 "cloud-cdn cookie" "$S" verify-url https://cdn.example.com/v/s.ts --cookie "$C" "${G[@]}"
expect 2 "cloud-cdn has no --ip" "$S" sign-url https://cdn.example.com/v/a.mp4 "${G[@]}" --expires-in 1h --ip 1.2.3.4

# Media CDN (sign with the private key, verify with the public key).
M=(--format media-cdn --key-name edkey)
U="$("$S" sign-url https://cdn.example.com/v/a.mp4 "${M[@]}" --key-file "$T/ed.key" --expires-in 1h)"
expect 0 "media-cdn url" "$S" verify-url "$U" "${M[@]}" --key-file "$T/ed.pub"
expect 1 "media-cdn tampered" "$S" verify-url "${U/a.mp4/b.mp4}" "${M[@]}" --key-file "$T/ed.pub"
P="$("$S" sign-url https://cdn.example.com/v/a.mp4 "${M[@]}" --key-file "$T/ed.key" --expires-in 1h --prefix https://cdn.example.com/v/)"
expect 0 "media-cdn prefix" "$S" verify-url "$P" "${M[@]}" --key-file "$T/ed.pub"
C="$("$S" sign-url "${M[@]}" --key-file "$T/ed.key" --expires-in 1h --prefix https://cdn.example.com/v/ --cookie)"
expect 0 "media-cdn cookie" "$S" verify-url https://cdn.example.com/v/s.ts --cookie "$C" "${M[@]}" --key-file "$T/ed.pub"
PC="$("$S" sign-url https://cdn.example.com/v/master.m3u8 "${M[@]}" --key-file "$T/ed.key" --expires-in 1h --path-component)"
expect 0 "media-cdn path component" "$S" verify-url "${PC/master.m3u8/seg.ts}" "${M[@]}" --key-file "$T/ed.pub"
TK="$("$S" sign-url https://cdn.example.com/v/master.m3u8 "${M[@]}" --key-file "$T/ed.key" --expires-in 1h --token --prefix https://cdn.example.com/v/)"
expect 0 "media-cdn ed25519 token" "$S" verify-url "$TK" "${M[@]}" --key-file "$T/ed.pub" --token
HT="$("$S" sign-url --format media-cdn --key-name hk --key-file "$T/hmac.key" --expires-in 1h --token --hmac sha256 --path-globs '/v/*' --ip 10.0.0.0/8)"
expect 0 "media-cdn hmac token" "$S" verify-url https://cdn.example.com/v/a.ts --format media-cdn --key-name hk --key-file "$T/hmac.key" --key-type hmac --token-value "$HT" --ip 10.1.2.3
expect 1 "media-cdn hmac token, wrong IP" "$S" verify-url https://cdn.example.com/v/a.ts --format media-cdn --key-name hk --key-file "$T/hmac.key" --key-type hmac --token-value "$HT" --ip 11.1.2.3
contains "$T/out" "IP mismatch" "token IP mismatch reason"

# Amazon CloudFront (RSA 2048 and ECDSA P-256 key pairs; the key name is the Key-Pair-Id).
expect 0 "keygen rsa" "$S" keygen --type rsa --id K2JCJMDEHXQW5F --out "$T/cf.pem" --public-out "$T/cf.pub"
contains "$T/cf.pem" "BEGIN PRIVATE KEY" "keygen rsa writes PKCS#8 PEM"
contains "$T/cf.pub" "BEGIN PUBLIC KEY" "keygen rsa writes the public key PEM CloudFront takes"
expect 0 "keygen ecdsa" "$S" keygen --type ecdsa --out "$T/ec.pem" --public-out "$T/ec.pub"
expect 2 "keygen rsa has no base64url" "$S" keygen --type rsa --format base64url --out "$T/x.pem"
expect 2 "keygen unknown type" "$S" keygen --type dsa --out "$T/x.pem"
F=(--format cloudfront --key-name K2JCJMDEHXQW5F)
U="$("$S" sign-url https://d111111abcdef8.cloudfront.net/v/a.m3u8 "${F[@]}" --key-file "$T/cf.pem" --expires-in 1h)"
case "$U" in *"?Expires="*"&Key-Pair-Id=K2JCJMDEHXQW5F&Signature="*) ok "cloudfront canned URL form" ;; *) bad "cloudfront canned URL form: $U" ;; esac
expect 0 "cloudfront url (public key)" "$S" verify-url "$U" "${F[@]}" --key-file "$T/cf.pub"
contains "$T/out" "VALID key=K2JCJMDEHXQW5F" "cloudfront VALID line"
expect 0 "cloudfront url (private key)" "$S" verify-url "$U" "${F[@]}" --key-file "$T/cf.pem"
expect 1 "cloudfront tampered" "$S" verify-url "${U/a.m3u8/b.m3u8}" "${F[@]}" --key-file "$T/cf.pub"
contains "$T/out" "bad signature" "cloudfront tampered reason"
expect 1 "cloudfront wrong key" "$S" verify-url "$U" "${F[@]}" --key-file "$T/ec.pub"
expect 1 "cloudfront expired" "$S" verify-url "$U" "${F[@]}" --key-file "$T/cf.pub" --now 4000000000
contains "$T/out" "expired" "cloudfront expired reason"
U="$("$S" sign-url https://d111111abcdef8.cloudfront.net/v/a.m3u8 "${F[@]}" --key-file "$T/ec.pem" --expires-in 1h --hash sha256 --ip 203.0.113.0/24 --prefix 'https://d111111abcdef8.cloudfront.net/v/*')"
case "$U" in *"?Policy="*"&Hash-Algorithm=SHA256") ok "cloudfront custom SHA-256 URL form" ;; *) bad "cloudfront custom URL form: $U" ;; esac
expect 0 "cloudfront ecdsa custom url" "$S" verify-url "$U" "${F[@]}" --key-file "$T/ec.pub" --ip 203.0.113.9
expect 1 "cloudfront IP mismatch" "$S" verify-url "$U" "${F[@]}" --key-file "$T/ec.pub" --ip 198.51.100.1
contains "$T/out" "IP mismatch" "cloudfront IP mismatch reason"
"$S" sign-url "${F[@]}" --key-file "$T/cf.pem" --expires-in 1h --cookie --prefix 'https://d111111abcdef8.cloudfront.net/v/abc/*' >"$T/cookies"
contains "$T/cookies" "^CloudFront-Policy=" "cloudfront cookies: Policy"
contains "$T/cookies" "^CloudFront-Signature=" "cloudfront cookies: Signature"
contains "$T/cookies" "^CloudFront-Key-Pair-Id=K2JCJMDEHXQW5F$" "cloudfront cookies: Key-Pair-Id"
H="$(paste -sd';' "$T/cookies")"
expect 0 "cloudfront cookies" "$S" verify-url https://d111111abcdef8.cloudfront.net/v/abc/720p/1.ts "${F[@]}" --key-file "$T/cf.pub" --cookie "other=1; $H"
expect 1 "cloudfront cookies outside the resource" "$S" verify-url https://d111111abcdef8.cloudfront.net/v/abd/1.ts "${F[@]}" --key-file "$T/cf.pub" --cookie "$H"
contains "$T/out" "outside prefix" "cloudfront outside reason"
expect 1 "cloudfront refuses a reserved parameter" "$S" sign-url 'https://d111111abcdef8.cloudfront.net/v/a.m3u8?Signature=x' "${F[@]}" --key-file "$T/cf.pem" --expires-in 1h
contains "$T/err" "Signature" "cloudfront reserved parameter is named"
expect 1 "cloudfront refuses an HMAC key" "$S" sign-url https://d111111abcdef8.cloudfront.net/v/a.m3u8 "${F[@]}" --key-file "$T/hmac.key" --expires-in 1h
expect 2 "--hash is for cloudfront" "$S" sign-url https://cdn.example.com/v/a.mp4 "${G[@]}" --expires-in 1h --hash sha256
expect 2 "cloudfront has no --token" "$S" sign-url https://d111111abcdef8.cloudfront.net/v/a.m3u8 "${F[@]}" --key-file "$T/cf.pem" --expires-in 1h --token
expect 0 "sign-url --help" "$S" sign-url --help
contains "$T/out" "cloudfront" "sign-url --help documents cloudfront"

# Runtime failure: the library's message, exit 1.
expect 1 "missing key file" "$S" sign-url https://a.example/x --key-name k1 --key-file "$T/nope" --expires-in 1h
contains "$T/err" "nope" "missing key file is named"

if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all checks passed"

# ---- catalog (server feature): import the demo catalog into a data directory ----
DEMO="$(cd "$(dirname "$0")/../.." && pwd)/examples/data/demo-catalog.json"
expect 0 "catalog --help" "$S" catalog --help
contains "$T/out" "Usage: streamctl catalog" "catalog --help shows its usage"
if "$S" catalog genres --data-dir "$T/nothing" 2>&1 | grep -q "not built"; then
  ok "catalog: not built without the server feature (skipping the catalog checks)"
else
  expect 2 "catalog without --data-dir" "$S" catalog list
  expect 2 "catalog unknown sub-command" "$S" catalog frob --data-dir "$T/cat"
  expect 1 "catalog list without a store" "$S" catalog list --data-dir "$T/cat"
  expect 0 "catalog import demo" "$S" catalog import "$DEMO" --data-dir "$T/cat"
  contains "$T/out" "imported 22 titles: 22 created, 0 updated, 0 unchanged, 0 failed" "catalog import counts"
  expect 0 "catalog re-import demo" "$S" catalog import "$DEMO" --data-dir "$T/cat"
  contains "$T/out" "0 created, 0 updated, 22 unchanged" "catalog re-import is idempotent"
  expect 0 "catalog list" "$S" catalog list --data-dir "$T/cat"
  [ "$(wc -l <"$T/out")" -eq 21 ] && ok "catalog list shows the 21 available titles" || bad "catalog list count: $(wc -l <"$T/out")"
  contains "$T/out" "tidewater-station" "catalog list has the series"
  expect 0 "catalog list --db FILE" "$S" catalog list --db "$T/cat/streamd.db"
  [ "$(wc -l <"$T/out")" -eq 21 ] && ok "catalog --db opens the same store" || bad "catalog list --db count: $(wc -l <"$T/out")"
  expect 2 "catalog --db with --data-dir" "$S" catalog list --db "$T/cat/streamd.db" --data-dir "$T/cat"
  expect 1 "catalog --db without a store" "$S" catalog list --db "$T/nothing/streamd.db"
  expect 0 "catalog list --genre" "$S" catalog list --genre Documentary --data-dir "$T/cat"
  [ "$(wc -l <"$T/out")" -eq 2 ] && ok "catalog list --genre filters" || bad "catalog list --genre count"
  expect 0 "catalog genres" "$S" catalog genres --data-dir "$T/cat"
  [ "$(wc -l <"$T/out")" -eq 14 ] && ok "catalog has 14 genres" || bad "catalog genre count"
  expect 0 "catalog search" "$S" catalog search amelie --data-dir "$T/cat"
  contains "$T/out" "amelie-of-the-canal" "catalog search folds diacritics"
  expect 0 "catalog get" "$S" catalog get tidewater-station --data-dir "$T/cat"
  contains "$T/out" '"seasons":\[{"id"' "catalog get shows seasons"
  printf '{"titles":[{"id":"ok","kind":"movie","name":"Fine","maturity_rating":0},{"kind":"movie","name":"Bad","maturity_rating":0,"year":1700}]}' >"$T/bad.json"
  expect 1 "catalog import invalid" "$S" catalog import "$T/bad.json" --data-dir "$T/cat"
  contains "$T/err" "titles\[1\]: field 'year' must be an integer between 1888 and 2100" "catalog import names the field"
  expect 1 "catalog invalid import wrote nothing" "$S" catalog get ok --data-dir "$T/cat"
  printf '{"titles":[{"kind":"movie","name":"\xff","maturity_rating":0}]}' >"$T/utf8.json"
  expect 1 "catalog import invalid UTF-8" "$S" catalog import "$T/utf8.json" --data-dir "$T/cat"
  contains "$T/err" "not valid UTF-8" "catalog import rejects invalid UTF-8"
  expect 0 "catalog import from stdin" bash -c "'$S' catalog import - --data-dir '$T/cat' <'$DEMO'"
  expect 0 "catalog delete" "$S" catalog delete lantern-road --data-dir "$T/cat"
  expect 1 "catalog get deleted" "$S" catalog get lantern-road --data-dir "$T/cat"
fi
# --db with a misspelt scheme: not a file, not a postgresql:// URI; not echoed (it may hold a
# password).
if ! "$S" stats --db x 2>&1 | grep -q "not built"; then
  expect 1 "stats --db with a misspelt scheme" "$S" stats --db "postgressql://someone:s3cret@h/db"
  contains "$T/err" "neither a file nor a postgresql:// URI" "a misspelt --db scheme is named"
  if grep -q s3cret "$T/err"; then bad "--db's password is not shown"; else
    ok "--db's password is not shown"; fi
fi
if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "catalog checks passed"
