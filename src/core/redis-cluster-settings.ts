/**
 * REDIS_CLUSTER_NODES: the engine on a Redis Cluster (the scale-out mode most managed Redis
 * services offer). Checked at boot like the Sentinel settings, with which it cannot be combined.
 */
import { ConfigError } from './config.js';
import { parseNodeList, password, setting, type SentinelAddress } from './redis-sentinel-settings.js';

/** Where a Redis Cluster is first reached; the client learns the rest of its nodes and slots from them. */
export interface RedisClusterSettings {
  kind: 'cluster';
  /** REDIS_CLUSTER_NODES: some of the cluster's nodes (any, primary or replica), asked for the slot map. */
  nodes: SentinelAddress[];
  /** REDIS_PASSWORD: what every node asks for; a secret, never logged. */
  password: string | null;
}

const MAX_SEED_NODES = 64;

type Env = Record<string, string | undefined>;

/** The cluster settings, or null when REDIS_CLUSTER_NODES is unset. */
export function redisClusterSettings(env: Env, redisUrl: string | null): RedisClusterSettings | null {
  const raw = setting(env, 'REDIS_CLUSTER_NODES');
  if (raw === null) return null;
  if (redisUrl !== null) throw new ConfigError('REDIS_CLUSTER_NODES', 'and REDIS_URL are both set: name the cluster\'s nodes in REDIS_CLUSTER_NODES only (their password goes in REDIS_PASSWORD)');
  if (setting(env, 'REDIS_SENTINELS') !== null) throw new ConfigError('REDIS_CLUSTER_NODES', 'and REDIS_SENTINELS are both set: a Redis Cluster fails over by itself, without sentinels');
  return { kind: 'cluster', nodes: parseNodeList(raw, 'REDIS_CLUSTER_NODES', MAX_SEED_NODES), password: password(env, 'REDIS_PASSWORD') };
}

/**
 * The key prefix as keys are written: on a cluster, wrapped in braces (`{pe}`) so that it is
 * the hash tag of every key the engine writes, BullMQ's included. One engine's keys then share
 * one slot: its scripts read and write the operation record, its indexes and counts, its
 * events and its BullMQ job in one atomic step, as on a single Redis (see README, "Running at
 * scale"). Engines with other prefixes land on other slots, and so spread over the masters.
 */
export function slotPrefix(keyPrefix: string, cluster: RedisClusterSettings | null): string {
  return cluster === null ? keyPrefix : `{${keyPrefix}}`;
}
