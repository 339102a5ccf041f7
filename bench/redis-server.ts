/**
 * A throwaway redis-server on a free loopback port: without persistence, or with an
 * append-only file in `persistence.dir` fsynced by `persistence.appendfsync`.
 */
import { freePort } from '../src/supervisor/free-port.js';
import { redisAnswers } from '../src/supervisor/redis-ready.js';
import { Redis } from 'ioredis';
import { spawnCommand, type BenchChild } from './children.js';

export { freePort };

export interface BenchRedis {
  url: string;
  child: BenchChild;
  /** A plain connection for the benchmark's own reads (counts, flushes). */
  client: Redis;
  stop(): Promise<void>;
}

export interface RedisPersistence {
  appendfsync: 'always' | 'everysec' | 'no';
  dir: string;
}

export async function startRedis(name: string, persistence?: RedisPersistence): Promise<BenchRedis> {
  const aof = persistence
    ? // No background rewrite: it would land in one side's measurement and not the other's.
      ['--appendonly', 'yes', '--appendfsync', persistence.appendfsync, '--dir', persistence.dir, '--auto-aof-rewrite-percentage', '0']
    : ['--appendonly', 'no'];
  // The free port can be taken between probing and binding; retry a few times.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawnCommand(name, 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...aof, '--loglevel', 'warning']);
    const url = `redis://127.0.0.1:${port}`;
    if (await redisAnswers(url, () => child.running, 5000)) {
      const client = new Redis(url, { maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      return {
        url,
        child,
        client,
        stop: async () => {
          client.disconnect();
          await child.stop();
        },
      };
    }
    await child.stop();
    if (attempt >= 3) throw new Error(`could not start redis-server${child.describeTail()}`);
  }
}
