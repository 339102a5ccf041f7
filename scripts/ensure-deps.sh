#!/usr/bin/env bash
# Installs what the system needs on a fresh Debian 12 machine with Node 20:
# redis-server from Debian's packages (when missing) and the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "redis-server is missing; install it with: sudo apt-get install redis-server" >&2
    exit 1
  fi
  echo "installing redis-server from Debian's packages…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
