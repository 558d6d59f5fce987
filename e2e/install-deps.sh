#!/usr/bin/env bash
# Installs the system packages the e2e run (e2e/run.mjs), the benchmark
# (bench/run.mjs) and the consumer tests (test/consumers.spec.ts) need, and
# only those that are missing:
#   redis-server (+ redis-benchmark, from redis-tools), nginx, chromium, wrk, shellcheck.
# Debian/Ubuntu only; needs root (or sudo). Go and Node come from elsewhere
# (the Go toolchain, scripts/ensure-node.sh).
set -euo pipefail

declare -A have_cmd=(
  [redis-server]="command -v redis-server"
  [redis-tools]="command -v redis-benchmark"
  [nginx]="command -v nginx"
  [chromium]="test -x /usr/bin/chromium"
  [wrk]="command -v wrk"
  [shellcheck]="command -v shellcheck"
)

missing=()
for pkg in redis-server redis-tools nginx chromium wrk shellcheck; do
  if ! eval "${have_cmd[$pkg]}" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "e2e/install-deps: all present (redis-server, redis-benchmark, nginx, chromium, wrk, shellcheck)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "e2e/install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

echo "e2e/install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

# The Debian nginx package starts a system nginx on :80 where an init system
# runs; the e2e run starts its own, so stop that one if it is up (harmless if not).
if [[ " ${missing[*]} " == *" nginx "* ]]; then
  $SUDO service nginx stop >/dev/null 2>&1 || true
fi
echo "e2e/install-deps: done"
