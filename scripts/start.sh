#!/usr/bin/env bash
# Starts the whole system: Redis, the sandbox cloud (when no provider credentials are set),
# the API on $PORT (8083) and two workers. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node --import tsx src/main.ts
