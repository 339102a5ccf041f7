#!/usr/bin/env bash
# Runs the type check and every test. Tests start their own throwaway redis-server and sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
ENSURE_CHROMIUM=1 bash scripts/ensure-deps.sh
npx tsc --noEmit -p .
npx tsc --noEmit -p src/ui
if [ "$#" -gt 0 ]; then files=("$@"); else files=(test/*.test.ts); fi
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" "${files[@]}"
