#!/usr/bin/env bash
# Runs the type check and every test. Tests start their own throwaway redis-server and sandbox.
# Without arguments it then runs the cluster subset again on a three-master Redis Cluster
# (TEST_REDIS=cluster, see test/helpers/redis-cluster.ts): the store and its listing, the queue, cancellation,
# workflows, idempotency, retention and the sweep, unchanged. `npm run test:cluster` runs
# that subset alone.
set -euo pipefail
cd "$(dirname "$0")/.."
ENSURE_CHROMIUM=1 bash scripts/ensure-deps.sh
npx tsc --noEmit -p .
npx tsc --noEmit -p src/ui
concurrency="${TEST_CONCURRENCY:-2}"
cluster_subset=(
  test/operations-list-pagination.test.ts
  test/a-rare-filter-pages-without-scanning-everything.test.ts
  test/a-store-from-before-operation-rows-is-moved-to-them.test.ts
  test/operation-counts-are-kept-by-the-writes.test.ts
  test/operation-cancel.test.ts
  test/idempotency-keys.test.ts
  test/workflow-custom-dag.test.ts
  test/workflow-cancel-and-crash.test.ts
  test/retention-removes-old-finished-operations.test.ts
  test/sweep-enqueues-lost-operations.test.ts
)
if [ "${1:-}" = "--cluster" ]; then
  TEST_REDIS=cluster exec node --import tsx --test --test-concurrency="$concurrency" "${cluster_subset[@]}"
fi
if [ "$#" -gt 0 ]; then
  exec node --import tsx --test --test-concurrency="$concurrency" "$@"
fi
node --import tsx --test --test-concurrency="$concurrency" test/*.test.ts
echo "# the cluster subset, on a three-master Redis Cluster"
TEST_REDIS=cluster node --import tsx --test --test-concurrency="$concurrency" "${cluster_subset[@]}"
