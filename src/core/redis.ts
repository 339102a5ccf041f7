import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config.js';
import type { RedisClusterSettings } from './redis-cluster-settings.js';
import type { RedisSentinelSettings } from './redis-sentinel-settings.js';

/**
 * Where the engine's Redis is: a URL (REDIS_URL, or the managed Redis the start command runs),
 * the sentinels that name the current primary (REDIS_SENTINELS), or some nodes of a Redis
 * Cluster (REDIS_CLUSTER_NODES).
 */
export type RedisAddress = string | RedisSentinelSettings | RedisClusterSettings;

function isCluster(address: RedisAddress): address is RedisClusterSettings {
  return typeof address !== 'string' && 'kind' in address && address.kind === 'cluster';
}

/** How long a sentinel may take to name the primary before the next one is asked. */
const SENTINEL_COMMAND_TIMEOUT_MS = 2000;

/**
 * The connection options for an address: the one place the configuration becomes ioredis
 * options, so every connection (and every BullMQ connection duplicated from one) finds Redis
 * the same way.
 */
export function redisOptions(address: RedisAddress, name: string): RedisOptions {
  const common: RedisOptions = {
    connectionName: name,
    // BullMQ needs this on the connections its workers block on; the same setting keeps our
    // own commands waiting through a Redis restart or a failover instead of failing an
    // accepted request half-way.
    maxRetriesPerRequest: null,
    // Also where ioredis checks, in sentinel mode, that the node it reached is the primary.
    enableReadyCheck: true,
    // Auto-pipelining stays off (ioredis's default), though it saves writes under load: a
    // pipeline cut by a lost connection throws outside any caller (ioredis#1931), which ends
    // the process where a plain command only fails.
  };
  if (typeof address === 'string') return common;
  if (isCluster(address)) return { ...common, ...(address.password !== null ? { password: address.password } : {}) };
  return {
    ...common,
    sentinels: address.sentinels.map(({ host, port }) => ({ host, port })),
    name: address.masterName,
    role: 'master',
    ...(address.sentinelPassword !== null ? { sentinelPassword: address.sentinelPassword } : {}),
    ...(address.password !== null ? { password: address.password } : {}),
    // A sentinel that is down or unreachable must not hold up finding the primary: the next one is asked.
    sentinelCommandTimeout: SENTINEL_COMMAND_TIMEOUT_MS,
    // No `failoverDetector`: its sentinel subscriptions (one set per connection) report a
    // sentinel that is down as unhandled errors on stderr. A failover reaches us anyway: the
    // sentinels send CLIENT KILL to a node they turn into a replica, and writes to it answer READONLY.

    // A node demoted to replica answers writes with READONLY: reconnect (asking the sentinels
    // again) and send the command once more, to the primary they name now.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
  };
}

/**
 * A connection to the engine's Redis (see redisOptions). On a cluster it is an ioredis
 * Cluster, typed as the Redis it stands in for: the two share every command the engine sends,
 * and each of its scripts declares a key (see lua.ts), which is how a cluster routes it.
 */
export function connectRedis(address: RedisAddress, name: string, extra: RedisOptions = {}): Redis {
  const options = { ...redisOptions(address, name), ...extra };
  if (isCluster(address)) {
    const cluster = new Cluster(
      address.nodes.map(({ host, port }) => ({ host, port })),
      {
        redisOptions: options,
        // As on one Redis: commands wait through a failover (a replica promoted) instead of failing.
        maxRedirections: 32,
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 300,
        // Follow MOVED/ASK and a changed slot map from the nodes' answers, and read it afresh now and then.
        slotsRefreshInterval: 10000,
        enableReadyCheck: true,
        ...(extra.lazyConnect ? { lazyConnect: true } : {}),
      },
    );
    return cluster as unknown as Redis;
  }
  return typeof address === 'string' ? new Redis(address, options) : new Redis(options);
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

/** The configured address: the cluster or the sentinels when set, else REDIS_URL; null when the start command is to run a Redis. */
export function redisAddressOf(config: Pick<Config, 'redisUrl' | 'redisSentinel' | 'redisCluster'>): RedisAddress | null {
  return config.redisCluster ?? config.redisSentinel ?? config.redisUrl;
}
