import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { redisAnswers } from '../../src/supervisor/redis-ready.js';
import type { TestRedis } from './redis-server.js';

/** The cluster's size: three masters, each holding a third of the slots, no replicas. */
const MASTERS = 3;

/** Whether a loopback port can be bound now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** Ports whose cluster bus ports (+10000) are free too, below the ephemeral range other tests draw from. */
export async function clusterPorts(count: number): Promise<number[]> {
  const taken = new Set<number>();
  while (taken.size < count) {
    const port = randomInt(20000, 30000);
    if (!taken.has(port) && (await portIsFree(port)) && (await portIsFree(port + 10000))) taken.add(port);
  }
  return [...taken];
}

/** The arguments of one cluster node: no persistence, cluster state in `dir`, one password for clients and nodes. */
export function clusterNodeArgs(port: number, dir: string, password: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning',
    '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '5000',
    '--requirepass', password, '--masterauth', password, '--dir', dir];
}

/**
 * Makes running cluster-enabled nodes one cluster, each a master with a share of the slots
 * (`redis-cli --cluster create`), and waits until every node sees every slot served.
 */
export async function formCluster(ports: number[], password: string): Promise<void> {
  const made = spawnSync('redis-cli', ['-a', password, '--no-auth-warning', '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 30000 });
  if (made.status !== 0) throw new Error(`redis-cli --cluster create failed: ${made.stdout}${made.stderr}`);
  const deadline = Date.now() + 20000;
  for (const port of ports) {
    const probe = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      for (;;) {
        const info = (await probe.cluster('INFO')) as string;
        if (/cluster_state:ok/.test(info)) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${port} not ready: ${info}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      probe.disconnect();
    }
  }
}

/** What points the engine at a cluster: REDIS_CLUSTER_NODES and REDIS_PASSWORD. */
export function clusterEnv(ports: number[], password: string): Record<string, string> {
  return { REDIS_CLUSTER_NODES: ports.map((p) => `127.0.0.1:${p}`).join(','), REDIS_PASSWORD: password };
}

/**
 * A three-master Redis Cluster on loopback, each node a real `redis-server` from the same
 * Debian package, without persistence, all with one password. `env` points the engine at it
 * (REDIS_CLUSTER_NODES, REDIS_PASSWORD); `url` is its first node, for tools that need one.
 */
export async function startTestRedisCluster(): Promise<TestCluster> {
  // A port found free can be taken before the node binds it (tests run side by side): try again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce();
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

type TestCluster = TestRedis & { env: Record<string, string>; ports: number[] };

async function startClusterOnce(): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'pe-cluster-'));
  const password = randomBytes(12).toString('hex');
  const nodes: Array<{ port: number; child: ChildProcess; exited: Promise<void> }> = [];
  const stop = async () => {
    for (const n of nodes) if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of await clusterPorts(MASTERS)) {
      const child = spawn('redis-server', clusterNodeArgs(port, dir, password), { stdio: 'ignore' });
      nodes.push({ port, child, exited: new Promise<void>((r) => child.once('exit', () => r())) });
    }
    for (const n of nodes) {
      if (!(await redisAnswers(`redis://:${password}@127.0.0.1:${n.port}`, () => n.child.exitCode === null, 10000))) throw new Error(`redis-server on ${n.port} did not start`);
    }
    await formCluster(nodes.map((n) => n.port), password);
    const ports = nodes.map((n) => n.port);
    return {
      url: `redis://:${password}@127.0.0.1:${ports[0]}`,
      child: nodes[0]!.child,
      env: clusterEnv(ports, password),
      ports,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
