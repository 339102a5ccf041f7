import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import { Keys } from './keys.js';
import type { Logger } from './logger.js';
import { OperationStore } from './operations/store.js';
import { OperationQueues } from './queue.js';
import { connectRedis } from './redis.js';
import { ServerInventory } from './servers/inventory.js';

/** What the API and the workers share: one Redis, its keys, the stores over it and the queue. */
export interface CoreContext {
  config: Config;
  redis: Redis;
  keys: Keys;
  store: OperationStore;
  inventory: ServerInventory;
  queues: OperationQueues;
  logger: Logger;
}

export function createCoreContext(config: Config, redisUrl: string, logger: Logger, name: string): CoreContext {
  const redis = connectRedis(redisUrl, name);
  const keys = new Keys(config.keyPrefix);
  return {
    config,
    redis,
    keys,
    store: new OperationStore(redis, keys),
    inventory: new ServerInventory(redis, keys),
    queues: new OperationQueues(redis, keys),
    logger,
  };
}

export async function closeCoreContext(ctx: CoreContext): Promise<void> {
  await ctx.queues.close();
  await ctx.redis.quit().catch(() => undefined);
}
