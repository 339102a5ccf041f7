/** A throwaway redis-server on a free loopback port, without persistence. */
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { spawnCommand, type BenchChild } from './children.js';

export interface BenchRedis {
  url: string;
  child: BenchChild;
  /** A plain connection for the benchmark's own reads (counts, flushes). */
  client: Redis;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startRedis(name: string): Promise<BenchRedis> {
  // The free port can be taken between probing and binding; retry a few times.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawnCommand(name, 'redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning',
    ]);
    const url = `redis://127.0.0.1:${port}`;
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    client.on('error', () => undefined);
    for (let i = 0; i < 100 && child.running; i++) {
      try {
        await client.connect();
        await client.ping();
        return {
          url,
          child,
          client,
          stop: async () => {
            client.disconnect();
            await child.stop();
          },
        };
      } catch {
        client.disconnect();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await child.stop();
    if (attempt >= 3) throw new Error(`could not start redis-server${child.describeTail()}`);
  }
}
