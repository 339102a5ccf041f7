import type { Redis } from 'ioredis';
import type { Provider, ProviderName } from '../common/provider.js';
import { Catalog } from './catalog.js';
import type { Config } from './config.js';
import { Keys } from './keys.js';
import type { Logger } from './logger.js';
import { OperationStore } from './operations/store.js';
import { OperationQueues } from './queue.js';
import { connectRedis, type RedisAddress } from './redis.js';
import { secretBox } from './secrets/secret-key.js';
import { ServerInventory } from './servers/inventory.js';
import { WorkspaceStore } from './workspaces/store.js';

/** What the API and the workers share: one Redis, its keys, the stores over it and the queue. */
export interface CoreContext {
  config: Config;
  redis: Redis;
  keys: Keys;
  store: OperationStore;
  inventory: ServerInventory;
  workspaces: WorkspaceStore;
  queues: OperationQueues;
  logger: Logger;
  /**
   * The provider catalogue cache (regions, plans, images in Redis), made on first use by
   * `catalogFor`, which also hands it the adapters it may read with.
   */
  catalog?: Catalog;
  /**
   * What was made beside this context and ends with it (a pub/sub subscriber, a sampler), run
   * by closeCoreContext. Not tied to the connection's 'end' event: ioredis emits none when a
   * connection waiting to reconnect to a Redis that is gone is disconnected.
   */
  closers: Array<() => void>;
}

/**
 * This context's catalogue, made on first call; `providers` it does not know yet are added
 * (the API passes its adapters once, a worker the adapter of the operation at hand).
 */
export function catalogFor(ctx: CoreContext, providers: Iterable<Provider> | Map<ProviderName, Provider>): Catalog {
  ctx.catalog ??= new Catalog(ctx.redis, ctx.keys, new Map(), ctx.config.catalogTtlSeconds);
  for (const provider of providers instanceof Map ? providers.values() : providers) ctx.catalog.use(provider);
  return ctx.catalog;
}

export function createCoreContext(config: Config, redisUrl: RedisAddress, logger: Logger, name: string): CoreContext {
  // The engine's secret key, loaded (or made) at the start of every process: a bad one stops it here, naming its setting.
  const secrets = secretBox(config);
  const redis = connectRedis(redisUrl, name);
  const keys = new Keys(config.keyPrefix);
  return {
    config,
    redis,
    keys,
    // Sealed inputs (user_data) are kept encrypted.
    store: new OperationStore(redis, keys, secrets, config.operationsListScanBudget),
    inventory: new ServerInventory(redis, keys),
    workspaces: new WorkspaceStore(redis, keys),
    queues: new OperationQueues(redis, keys),
    logger,
    closers: [],
  };
}

/** How long a close waits for Redis to take its QUIT before it drops the connection instead. */
const CLOSE_DEADLINE_MS = 2000;

/**
 * Closes the queues and QUITs, where Redis answers. A Redis that is gone (the connection is
 * retrying) or that holds the connection without answering (paused, a network partition)
 * would keep both waiting forever: then, or once CLOSE_DEADLINE_MS passes, the connection is
 * dropped instead, so a process can always stop.
 */
export async function closeCoreContext(ctx: CoreContext): Promise<void> {
  for (const close of ctx.closers.splice(0)) close();
  let done = false;
  const graceful = (async () => {
    if (ctx.redis.status === 'ready') {
      await ctx.queues.close();
      await ctx.redis.quit();
    }
  })()
    .catch(() => undefined)
    .finally(() => (done = true));
  const deadline = Date.now() + CLOSE_DEADLINE_MS;
  while (!done) {
    const unreachable = ctx.redis.status !== 'ready' && ctx.redis.status !== 'end';
    if (unreachable || Date.now() >= deadline) {
      ctx.redis.disconnect();
      return;
    }
    await Promise.race([graceful, new Promise((r) => setTimeout(r, 50))]);
  }
  // Redis gone before the close began: nothing graceful was tried, and a connection left
  // reconnecting would keep the process alive (and whatever follows its 'end' waiting).
  if (ctx.redis.status !== 'end') ctx.redis.disconnect();
}
