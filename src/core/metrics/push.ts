import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Keys } from '../keys.js';
import type { Logger } from '../logger.js';
import { writeProcessMetrics } from './process-store.js';

export interface MetricsPush {
  /** Stops pushing after one last push of the final counts (skipped when Redis is gone). */
  stop(): Promise<void>;
}

/** A stop's last push gives up after this long: a Redis that does not answer must not hold the stop. */
const LAST_PUSH_DEADLINE_MS = 1000;

/**
 * Every `intervalMs`, this process's engine series written to Redis under `id` for the API's
 * scrape to sum (see merge.ts), lapsing after three missed pushes. A worker opens no port of
 * its own, and every API replica answers the same sums: a scraper needs to reach one API only.
 */
export function startMetricsPush(redis: Redis, keys: Keys, logger: Logger, opts: { id: string; registry: Registry; intervalMs: number }): MetricsPush {
  const ttlMs = opts.intervalMs * 3;
  let warned = false;
  let inFlight: Promise<void> | null = null;
  const push = (): Promise<void> => {
    // One at a time: with Redis slow, pushes do not pile up behind each other.
    inFlight ??= (async () => {
      try {
        await writeProcessMetrics(redis, keys, opts.id, await opts.registry.getMetricsAsJSON(), ttlMs);
        warned = false;
      } catch (err) {
        if (!warned) logger.warn('process metrics not written', { error: (err as Error).message });
        warned = true;
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  };
  void push();
  const timer = setInterval(() => void push(), opts.intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      if (redis.status !== 'ready') return;
      await Promise.race([
        (async () => {
          await inFlight;
          await push();
        })(),
        new Promise((r) => setTimeout(r, LAST_PUSH_DEADLINE_MS).unref()),
      ]);
    },
  };
}
