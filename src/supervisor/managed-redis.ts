import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ManagedRedisFsync } from '../core/config.js';
import type { SecretBox } from '../core/secrets/secret-box.js';
import { terminate, type Ended } from './child.js';
import { redisAnswers } from './redis-ready.js';
import { redisMemoryArgs } from './redis-tuning.js';

export interface ManagedRedis {
  /** With the password: only for the processes the supervisor starts (in their environment), never printed. */
  url: string;
  /** Without the password: what may be shown. */
  displayUrl: string;
  child: ChildProcess;
  /** SIGTERM (Redis writes what it has and exits), then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<Ended>;
}

/**
 * The managed Redis's password, derived from the engine's secret key (HKDF). It has to be
 * known before Redis is reachable, so it cannot be kept in Redis; deriving it rather than
 * keeping it in a second file means there is nothing more to create, protect or back up, every
 * start (and the tests) compute the same one, and it reveals nothing about the key. It changes
 * only with the key, and then the stored secrets would not open anyway.
 */
export function managedRedisPassword(box: SecretBox): string {
  return box.derive('managed redis requirepass').toString('hex');
}

/**
 * Runs `redis-server` as a child with append-only persistence under the data directory, so a
 * second start finds every operation again. Bound to loopback only, and every client must
 * AUTH with `password`: anything else on the machine reaching the port reads nothing.
 *
 * The password goes to redis-server on its standard input (`redis-server -` reads its
 * configuration there), not on its command line, which every local user can read in `ps`.
 *
 * `fsync` is its `appendfsync` (MANAGED_REDIS_FSYNC): with `always` (the default) Redis fsyncs
 * the append-only file before it answers a write, so an operation answered 202 is on disk even
 * if the machine loses power right after; `everysec` and `no` trade that for throughput.
 */
export async function startManagedRedis(dataDir: string, port: number, fsync: ManagedRedisFsync, password: string): Promise<ManagedRedis> {
  if (!/^[A-Za-z0-9]{16,512}$/.test(password)) throw new Error('the managed Redis password must be 16 to 512 letters and digits');
  const dir = resolve(dataDir, 'redis');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const child = spawn(
    'redis-server',
    [
      '-',
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--protected-mode', 'yes',
      '--dir', dir,
      '--appendonly', 'yes',
      '--appendfsync', fsync,
      '--save', '',
      '--daemonize', 'no',
      '--loglevel', 'warning',
      '--logfile', resolve(dir, 'redis.log'),
      ...redisMemoryArgs(),
    ],
    // stdout only says "Reading config from stdin" before the log file takes over. In its own
    // session, so a Ctrl-C in the terminal does not stop it before the API and workers.
    { stdio: ['pipe', 'ignore', 'inherit'], detached: true },
  );
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(`requirepass ${password}\n`);
  const displayUrl = `redis://127.0.0.1:${port}`;
  const url = `redis://:${password}@127.0.0.1:${port}`;
  const ready = await redisAnswers(url, () => child.exitCode === null);
  if (!ready) {
    if (child.exitCode === null) child.kill('SIGTERM');
    throw new Error(`redis-server did not start; see ${resolve(dir, 'redis.log')} (is port ${port} in use? set MANAGED_REDIS_PORT or REDIS_URL)`);
  }
  return {
    url,
    displayUrl,
    child,
    stop: (graceMs = 30000) => terminate(child, graceMs),
  };
}
