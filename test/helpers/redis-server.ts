import { Cluster, type Redis } from 'ioredis';
import { spawn, type ChildProcess } from 'node:child_process';
import { redisAnswers } from '../../src/supervisor/redis-ready.js';
import { freePort } from './free-port.js';

export interface TestRedis {
  url: string;
  child: ChildProcess;
  /** The settings that point the engine at this Redis; default REDIS_URL = `url`. */
  env?: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * A throwaway redis-server on a free loopback port, without persistence; with
 * TEST_REDIS=cluster, a three-master Redis Cluster instead (see redis-cluster.ts), so a test
 * proves the same behaviour on a cluster unchanged (`npm run test:cluster`).
 */
export async function startTestRedis(): Promise<TestRedis> {
  if (process.env.TEST_REDIS === 'cluster') return (await import('./redis-cluster.js')).startTestRedisCluster();
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const url = `redis://127.0.0.1:${port}`;
    const ready = await redisAnswers(url, () => child.exitCode === null, 5000);
    if (ready) {
      return {
        url,
        child,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGKILL');
          await exited;
        },
      };
    }
    child.kill('SIGKILL');
    if (tries >= 3) throw new Error('could not start redis-server');
  }
}

/**
 * The keys matching `pattern` (KEYS) on a Redis or on every master of a Redis Cluster: on a
 * cluster a keyless command reaches one node only.
 */
export async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  // connectRedis types a Cluster as the Redis it stands in for.
  const client = redis as unknown;
  const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [redis];
  return (await Promise.all(nodes.map((node) => node.keys(pattern)))).flat();
}
