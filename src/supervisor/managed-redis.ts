import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { connectRedis } from '../core/redis.js';

export interface ManagedRedis {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Runs `redis-server` as a child with append-only persistence under the data directory, so a
 * second start finds every operation again. Bound to loopback only.
 */
export async function startManagedRedis(dataDir: string, port: number): Promise<ManagedRedis> {
  const dir = resolve(dataDir, 'redis');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no', '--loglevel', 'warning', '--logfile', resolve(dir, 'redis.log')],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `redis://127.0.0.1:${port}`;
  const probe = connectRedis(url, 'supervisor-probe', { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  probe.on('error', () => undefined);
  const deadline = Date.now() + 15000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}; see ${resolve(dir, 'redis.log')} (is port ${port} in use? set MANAGED_REDIS_PORT or REDIS_URL)`);
    try {
      await probe.connect();
      // Loading a large AOF answers LOADING for a while; wait for real readiness.
      await probe.ping();
      break;
    } catch {
      probe.disconnect();
      if (Date.now() > deadline) throw new Error('redis-server did not become ready within 15s');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  probe.disconnect();
  return {
    url,
    child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
