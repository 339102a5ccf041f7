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
