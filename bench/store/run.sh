#!/usr/bin/env bash
# bench/store: the PostgreSQL store against the SQLite store (bench_store.c says what it runs).
#
# Usage: bench/store/run.sh PG_RUN BENCH_STORE [ARGS...]
# Runs BENCH_STORE on a throwaway PostgreSQL server (PG_RUN is tests/pg/pg_run.sh: initdb in a
# temporary directory, fsync off; or the server STREAM_TEST_PG already names). Without
# PostgreSQL server binaries it prints "skipped" and succeeds: a benchmark is informational.
# Quick mode when the environment variable CI is set (bench_store reads it).
set -u
pg_run=$1
shift
# The server's files on the same file system as sqlite's ($TMPDIR), not pg_run.sh's tmpfs
# choice for test runs: the figures in docs/bench.md were taken so.
export STREAM_TEST_PG_DIR=${STREAM_TEST_PG_DIR:-${TMPDIR:-/tmp}}
"$pg_run" "$@"
rc=$?
if [ $rc = 77 ]; then
  echo "bench-store: skipped: no PostgreSQL server installed (Debian package postgresql)"
  exit 0
fi
exit $rc
