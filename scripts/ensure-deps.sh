#!/usr/bin/env bash
# Installs what the system needs on a fresh Debian 12 machine with Node 20: redis-server
# from Debian's packages (when missing), openssh-server's sshd for the test that runs task
# service scripts over a real SSH connection (when missing, as root), Debian's chromium for the
# dashboard's browser tests (with ENSURE_CHROMIUM=1, when missing, as root), and the npm
# dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "redis-server is missing; install it with: sudo apt-get install redis-server" >&2
    exit 1
  fi
  packages+=(redis-server)
fi
if [ ! -x /usr/sbin/sshd ]; then
  if [ "$(id -u)" -eq 0 ]; then
    packages+=(openssh-server)
  else
    echo "note: /usr/sbin/sshd is missing; the SSH runner test needs it: sudo apt-get install openssh-server" >&2
  fi
fi
if [ "${ENSURE_CHROMIUM:-0}" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ]; then
    packages+=(chromium)
  else
    echo "note: /usr/bin/chromium is missing; the dashboard's browser tests need it: sudo apt-get install chromium" >&2
  fi
fi

if [ "${#packages[@]}" -gt 0 ]; then
  echo "installing ${packages[*]} from Debian's packages…"
  # Only the programs are wanted: a policy-rc.d that refuses keeps the packages from
  # starting system-wide services (a redis on 6379, an sshd on port 22).
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  trap 'if [ "$own_policy" -eq 1 ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# The dashboard is bundled from src/ui into dist/ui, and the pe CLI into dist/cli (about a
# second each, nothing downloaded).
npm run --silent build:ui
npm run --silent build:cli
