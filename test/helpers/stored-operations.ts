/** What the store holds, read from its rows (see src/core/operations/rows.ts), for tests that check what was or was not written. */
import type { Redis } from 'ioredis';
import type { Keys } from '../../src/core/keys.js';
import { readRows } from '../../src/core/operations/rows.js';

/** The id of every operation stored, oldest first. */
export async function storedOperationIds(redis: Redis, keys: Keys): Promise<string[]> {
  const ids: string[] = [];
  for (const bucket of await redis.zrange(keys.operationBuckets(), '0', '-1')) {
    ids.push(...(await readRows(redis, keys, bucket)).map((r) => r.id));
  }
  return ids;
}

/** How many operations are stored. */
export async function storedOperationCount(redis: Redis, keys: Keys): Promise<number> {
  return (await storedOperationIds(redis, keys)).length;
}
