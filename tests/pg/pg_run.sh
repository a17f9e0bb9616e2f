#!/usr/bin/env bash
# tests/pg/pg_run.sh [--optional] COMMAND [ARGS...]
#
# Runs COMMAND against a throwaway PostgreSQL server: initdb in a temporary
# directory (on tmpfs when it has room, see below), a server listening only on
# a Unix socket there (no TCP port, so parallel tests never collide), fsync off
# (a test server: durability is the store's SQLite tests' business), and a
# database "stream". COMMAND gets
#   STREAM_TEST_PG=postgresql:///stream?host=<socket dir>&user=stream
# and the server is stopped and removed when it exits. Exit status: COMMAND's;
# 77 (skipped) when no PostgreSQL server binaries are installed.
#
# As root (CI), the server runs as the "postgres" system user (PostgreSQL
# refuses to run as root); otherwise as the caller.
#
# One server can serve a whole test run: when STREAM_TEST_PG is already set
# (`make test` wraps `meson test` in this script) COMMAND just runs on it —
# every test names databases of its own (tests/unit/store_path.h). The server
# is also exported as STREAM_TEST_PG_SERVER, which a nested pg_run turns back
# into STREAM_TEST_PG: the unit tests' environment empties STREAM_TEST_PG so
# that their SQLite runs stay on SQLite inside such a run, and their -pg runs
# (this script around the same executable) find the server again. With
# --optional and no server binaries, COMMAND runs without one (the -pg tests
# inside then skip).
set -u
optional=0
if [ "${1:-}" = "--optional" ]; then
  optional=1
  shift
fi
if [ -n "${STREAM_TEST_PG:-}" ]; then
  exec "$@"
fi
if [ -n "${STREAM_TEST_PG_SERVER:-}" ]; then
  export STREAM_TEST_PG="$STREAM_TEST_PG_SERVER"
  exec "$@"
fi
bindir=""
for d in "${PG_BINDIR:-}" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then bindir=$d; break; fi
done
if [ -z "$bindir" ]; then
  [ $optional = 1 ] && exec "$@"
  echo "pg_run: skipped: no PostgreSQL server (Debian package postgresql)"
  exit 77
fi
# The server's files go to tmpfs (/dev/shm) when it has 8 GiB free: a test run creates ~450
# databases, and on a disk file system creating their files costs the server about twice the
# CPU. STREAM_TEST_PG_DIR names another directory; otherwise $TMPDIR.
dir=${STREAM_TEST_PG_DIR:-}
if [ -z "$dir" ]; then
  dir=${TMPDIR:-/tmp}
  shm_free=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
  if [ -w /dev/shm ] && [ "${shm_free:-0}" -ge $((8 * 1024 * 1024)) ]; then
    dir=/dev/shm
  fi
fi
tmp=$(mktemp -d "$dir/stream-pg.XXXXXX") || exit 1
as=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$tmp" || exit 1
  chmod 700 "$tmp"
  as=(runuser -u postgres --)
fi
cleanup() {
  "${as[@]}" "$bindir/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if ! "${as[@]}" "$bindir/initdb" -D "$tmp/data" -A trust -U stream -E UTF8 --locale=C.UTF-8 \
  --no-sync >"$tmp/initdb.log" 2>&1; then
  cat "$tmp/initdb.log" >&2
  exit 1
fi
if ! "${as[@]}" "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
  -o "-k $tmp -c listen_addresses= -c fsync=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null; then
  cat "$tmp/server.log" >&2
  exit 1
fi
"$bindir/createdb" -h "$tmp" -U stream stream || exit 1
export STREAM_TEST_PG="postgresql:///stream?host=$tmp&user=stream"
export STREAM_TEST_PG_SERVER="$STREAM_TEST_PG"
"$@"
rc=$?
if [ $rc != 0 ] && [ $rc != 77 ]; then
  echo "pg_run: server log (last lines):" >&2
  tail -n 30 "$tmp/server.log" >&2
fi
exit $rc
