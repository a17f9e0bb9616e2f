#!/usr/bin/env bash
# Install the Debian 12 packages libstream needs, and only those that are missing.
# As root it runs apt-get; otherwise it names the missing packages and fails.
set -euo pipefail

pkgs=(
  build-essential meson ninja-build pkg-config clang-format
  libssl-dev libcjson-dev libargon2-dev
  check libsubunit-dev
  libcurl4-openssl-dev libmicrohttpd-dev libsqlite3-dev libpq-dev postgresql
  protobuf-c-compiler libprotobuf-c-dev zlib1g-dev
  libnats-dev nats-server
  python3 python3-dev python3-cffi python3-pytest python3-prometheus-client
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev ffmpeg
  wrk nginx-light
  chromium
)
# python3-prometheus-client: tests/integration/test_metrics.py parses /metrics with the real
# Prometheus text parser.
# libpq-dev: the store's PostgreSQL backend; postgresql: the throwaway servers its tests start
# (tests/pg/pg_run.sh; the packaged cluster is not used).
# libnats-dev: nats.c, the event-log relay to NATS JetStream (nats feature); nats-server: the
# JetStream servers its tests start on loopback ports (the packaged service is not used).
# chromium: the web player's browser test (tests/integration/web, driven by npm playwright-core).
# The OpenAPI linter (tests/integration/openapi_lint.sh) runs on Node.js from npm.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
# Extra packages a caller may ask for (e.g. EXTRA_PKGS="ffmpeg libavcodec-dev").
if [ -n "${EXTRA_PKGS:-}" ]; then
  read -r -a extra <<<"$EXTRA_PKGS"
  pkgs+=("${extra[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages: ${missing[*]}" >&2
  echo "install-deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# nginx (bench/http) is started by its postinst on port 80: forbid service starts during the
# install (policy-rc.d exit 101, see invoke-rc.d(8)) unless the host already has a policy.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
