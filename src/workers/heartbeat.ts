import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { heartbeatIndexKey, heartbeatKey, type WorkerHeartbeat } from '../core/heartbeats.js';
import type { Keys } from '../core/keys.js';
import type { Logger } from '../core/logger.js';

export interface HeartbeatOptions {
  /** The process's name (WORKER_NAME). */
  name: string;
  queues: string[];
  activeJobs: () => number;
  /** How often the record is written; it lapses after three missed beats. */
  intervalMs?: number;
}

export interface Heartbeat {
  /** Stops beating and removes the record (a clean shutdown). */
  stop(): Promise<void>;
}

/**
 * Every few seconds, this worker process's `{id, pid, host, started_at, last_seen, queues,
 * active_jobs}` in Redis with a TTL, so the dashboard shows which workers are alive and busy.
 * A process that dies simply stops beating and its record lapses.
 */
export function startHeartbeat(redis: Redis, keys: Keys, logger: Logger, opts: HeartbeatOptions): Heartbeat {
  const intervalMs = opts.intervalMs ?? 5000;
  const host = hostname();
  const id = `${opts.name}@${host}:${process.pid}`;
  const startedAt = new Date().toISOString();
  const key = heartbeatKey(keys, id);
  let warned = false;
  const beat = async () => {
    const record: WorkerHeartbeat = {
      id,
      pid: process.pid,
      host,
      started_at: startedAt,
      last_seen: new Date().toISOString(),
      queues: opts.queues,
      active_jobs: opts.activeJobs(),
    };
    try {
      await redis.multi().set(key, JSON.stringify(record), 'PX', intervalMs * 3).sadd(heartbeatIndexKey(keys), id).exec();
      warned = false;
    } catch (err) {
      if (!warned) logger.warn('worker heartbeat not written', { error: (err as Error).message });
      warned = true;
    }
  };
  void beat();
  const timer = setInterval(() => void beat(), intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      if (redis.status !== 'ready') return;
      await Promise.race([
        redis.multi().del(key).srem(heartbeatIndexKey(keys), id).exec().catch(() => undefined),
        new Promise((r) => setTimeout(r, 1000).unref()),
      ]);
    },
  };
}
