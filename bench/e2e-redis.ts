/**
 * What the end-to-end phase needs of a Redis, whether one server or a cluster: the settings
 * that point processes at it, connections for the bench's own queue and reads, the key prefix
 * as keys are written there, every node's command counts and the processes to meter.
 */
import { Cluster, Redis } from 'ioredis';
import { slotPrefix } from '../src/core/redis-cluster-settings.js';
import type { BenchChild } from './children.js';
import type { BenchRedisCluster } from './redis-cluster.js';
import type { BenchRedis } from './redis-server.js';

export interface E2eRedis {
  /** What it is, for the report. */
  kind: 'one Redis' | 'a Redis Cluster';
  /** REDIS_URL, or REDIS_CLUSTER_NODES and REDIS_PASSWORD, as the engine reads them. */
  env: Record<string, string>;
  /** A new connection (a Cluster client on a cluster), for a BullMQ queue. */
  connect(): Redis;
  /** A connection for the bench's reads of keys, wherever they live. */
  client: Redis;
  /** One connection per node, whose command counts add up to the system's. */
  nodes: Redis[];
  /** Its server processes, metered with the rest. */
  procs: BenchChild[];
  /** A key prefix as keys are written: wrapped in braces (the hash tag) on a cluster. */
  keyed(prefix: string): string;
}

export function oneRedis(redis: BenchRedis): E2eRedis {
  return {
    kind: 'one Redis',
    env: { REDIS_URL: redis.url },
    connect: () => new Redis(redis.url, { maxRetriesPerRequest: null }),
    client: redis.client,
    nodes: [redis.client],
    procs: [redis.child],
    keyed: (prefix) => prefix,
  };
}

export function clusterRedis(cluster: BenchRedisCluster): E2eRedis {
  const connect = (): Redis =>
    new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })), { redisOptions: { password: cluster.password, maxRetriesPerRequest: null } }) as unknown as Redis;
  return {
    kind: 'a Redis Cluster',
    env: cluster.env,
    connect,
    client: cluster.client as unknown as Redis,
    nodes: cluster.nodeClients,
    procs: cluster.nodes,
    keyed: (prefix) => slotPrefix(prefix, { kind: 'cluster', nodes: [], password: null }),
  };
}
