import { Redis, type RedisOptions } from 'ioredis';

/**
 * Connections to the engine's Redis. BullMQ needs `maxRetriesPerRequest: null` on the
 * connections its workers block on; the same setting keeps our own commands waiting through
 * a Redis restart instead of failing an accepted request half-way.
 */
export function connectRedis(url: string, name: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    ...extra,
  });
}

export type RedisPing = { ok: true; latencyMs: number } | { ok: false; error: string };

/**
 * PING with a deadline: how `/health`, `/health/ready` and `/dependencies` tell whether this
 * process reaches Redis. A connection retrying through an outage would otherwise hold the
 * answer for as long as the outage lasts (commands wait, see connectRedis).
 */
export async function pingRedis(redis: Redis, timeoutMs: number): Promise<RedisPing> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<RedisPing>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, { ok: false, error: `Redis PING: no answer within ${timeoutMs} ms` });
    timer.unref();
  });
  const answer = redis.ping().then(
    (): RedisPing => ({ ok: true, latencyMs: Date.now() - started }),
    (err: Error): RedisPing => ({ ok: false, error: err.message }),
  );
  return Promise.race([answer, late]).finally(() => clearTimeout(timer));
}
