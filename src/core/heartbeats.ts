import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';

/**
 * What a worker process says about itself every few seconds (see workers/heartbeat.ts): a
 * record under `<prefix>:workers:hb:<id>` that lapses when the process stops saying it, and the
 * id in the set `<prefix>:workers:hb` so readers find the records without scanning.
 */
export interface WorkerHeartbeat {
  id: string;
  pid: number;
  host: string;
  started_at: string;
  last_seen: string;
  queues: string[];
  active_jobs: number;
}

export function heartbeatIndexKey(keys: Keys): string {
  return `${keys.prefix}:workers:hb`;
}

export function heartbeatKey(keys: Keys, id: string): string {
  return `${keys.prefix}:workers:hb:${id}`;
}

/** The live workers' heartbeats, by id; ids whose record lapsed are dropped from the set. */
export async function readHeartbeats(redis: Redis, keys: Keys): Promise<WorkerHeartbeat[]> {
  const ids = (await redis.smembers(heartbeatIndexKey(keys))).sort();
  if (ids.length === 0) return [];
  const values = await redis.mget(...ids.map((id) => heartbeatKey(keys, id)));
  const live: WorkerHeartbeat[] = [];
  const lapsed: string[] = [];
  ids.forEach((id, i) => {
    const raw = values[i];
    if (!raw) return void lapsed.push(id);
    try {
      live.push(JSON.parse(raw) as WorkerHeartbeat);
    } catch {
      lapsed.push(id);
    }
  });
  if (lapsed.length > 0) await redis.srem(heartbeatIndexKey(keys), ...lapsed);
  return live;
}
