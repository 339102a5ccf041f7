import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ManagedRedisFsync } from '../core/config.js';
import { redisAnswers } from './redis-ready.js';

export interface ManagedRedis {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Runs `redis-server` as a child with append-only persistence under the data directory, so a
 * second start finds every operation again. Bound to loopback only.
 *
 * `fsync` is its `appendfsync` (MANAGED_REDIS_FSYNC): with `always` (the default) Redis fsyncs
 * the append-only file before it answers a write, so an operation answered 202 is on disk even
 * if the machine loses power right after; `everysec` and `no` trade that for throughput.
 */
export async function startManagedRedis(dataDir: string, port: number, fsync: ManagedRedisFsync): Promise<ManagedRedis> {
  const dir = resolve(dataDir, 'redis');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', fsync, '--save', '', '--daemonize', 'no', '--loglevel', 'warning', '--logfile', resolve(dir, 'redis.log')],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `redis://127.0.0.1:${port}`;
  const ready = await redisAnswers(url, () => child.exitCode === null);
  if (!ready) {
    if (child.exitCode === null) child.kill('SIGTERM');
    throw new Error(`redis-server did not start; see ${resolve(dir, 'redis.log')} (is port ${port} in use? set MANAGED_REDIS_PORT or REDIS_URL)`);
  }
  return {
    url,
    child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
