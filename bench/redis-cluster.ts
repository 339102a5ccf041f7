/**
 * A three-master Redis Cluster on loopback for the end-to-end phase on a cluster: the same
 * nodes the cluster tests start (test/helpers/redis-cluster.ts), each a BenchChild so its CPU
 * is metered and it is stopped on failure and Ctrl-C like every other bench process.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { redisAnswers } from '../src/supervisor/redis-ready.js';
import { clusterEnv, clusterNodeArgs, clusterPorts, formCluster } from '../test/helpers/redis-cluster.js';
import { spawnCommand, type BenchChild } from './children.js';

const MASTERS = 3;

export interface BenchRedisCluster {
  /** REDIS_CLUSTER_NODES and REDIS_PASSWORD for the engine's processes. */
  env: Record<string, string>;
  ports: number[];
  password: string;
  nodes: BenchChild[];
  /** One plain connection per node, for the bench's own reads (command counts). */
  nodeClients: Redis[];
  /** A cluster connection, for reads of keys wherever they live. */
  client: Cluster;
  stop(): Promise<void>;
}

export async function startRedisCluster(name: string): Promise<BenchRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'pe-bench-cluster-'));
  const password = randomBytes(12).toString('hex');
  const ports = await clusterPorts(MASTERS);
  const nodes = ports.map((port, i) => spawnCommand(`${name}-${i + 1}`, 'redis-server', clusterNodeArgs(port, dir, password)));
  const nodeClients: Redis[] = [];
  let client: Cluster | undefined;
  const stop = async (): Promise<void> => {
    client?.disconnect();
    for (const c of nodeClients) c.disconnect();
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const [i, port] of ports.entries()) {
      if (!(await redisAnswers(`redis://:${password}@127.0.0.1:${port}`, () => nodes[i]!.running, 10000))) throw new Error(`cluster node ${port} did not start${nodes[i]!.describeTail()}`);
    }
    await formCluster(ports, password);
    for (const port of ports) {
      const c = new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 1 });
      c.on('error', () => undefined);
      nodeClients.push(c);
    }
    client = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), { redisOptions: { password, maxRetriesPerRequest: null } });
    client.on('error', () => undefined);
    return { env: clusterEnv(ports, password), ports, password, nodes, nodeClients, client, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
