import type { Redis } from 'ioredis';

const yieldToOthers = () => new Promise<void>((r) => setImmediate(r));

/**
 * Removes a stream's entries older than `minMs` (epoch ms, the time part of their ids) in
 * short steps. The approximate trim drops whole stream nodes, each call at most Redis's own
 * limit of entries, and is repeated until it finds nothing; what is left past the cutoff is at
 * most the one node that straddles it, which the exact trim then removes. No call walks an
 * unbounded number of entries. Returns how many entries went.
 */
export async function trimStreamBefore(redis: Redis, key: string, minMs: number): Promise<number> {
  const minId = `${Math.max(0, Math.floor(minMs))}-0`;
  let removed = 0;
  for (;;) {
    const n = Number(await redis.call('XTRIM', key, 'MINID', '~', minId));
    removed += n;
    if (n === 0) break;
    await yieldToOthers();
  }
  removed += Number(await redis.call('XTRIM', key, 'MINID', minId));
  return removed;
}
