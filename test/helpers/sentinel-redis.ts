import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { redisAnswers } from '../../src/supervisor/redis-ready.js';
import { freePort } from './free-port.js';
import type { TestRedis } from './redis-server.js';

const MASTER = 'mymaster';

interface Node {
  name: string;
  port: number;
  child: ChildProcess;
  exited: Promise<void>;
}

/**
 * A Sentinel-managed Redis on loopback: a primary, one replica and three sentinels (quorum 2),
 * each a real `redis-server` process, with timeouts short enough for a failover to take a few
 * seconds. Data nodes and sentinels each have their own password. `env` points the engine at it.
 */
export interface SentinelRedis extends TestRedis {
  env: Record<string, string>;
  /** The port of the node the sentinels name as primary now. */
  primaryPort(): Promise<number>;
  /** SIGKILLs the node that is primary now; returns its port. */
  killPrimary(): Promise<number>;
  /** Waits until the sentinels name a primary other than `port`, and it takes writes. */
  waitForPrimaryOtherThan(port: number, timeoutMs?: number): Promise<number>;
  /**
   * Starts a killed data node again from its own append-only file, on a new port and standalone
   * (no sentinel knows it, it replicates nothing): what it had acknowledged when it died.
   */
  reopenKilled(port: number): Promise<{ url: string }>;
}

export async function startSentinelRedis(): Promise<SentinelRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'pe-sentinel-'));
  const password = randomBytes(12).toString('hex');
  const sentinelPassword = randomBytes(12).toString('hex');
  const nodes: Node[] = [];

  const spawnNode = (name: string, port: number, args: string[]): Node => {
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    const node = { name, port, child, exited: new Promise<void>((r) => child.once('exit', () => r())) };
    nodes.push(node);
    return node;
  };
  const stopAll = async () => {
    for (const node of nodes) if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // The primary acknowledges a write only once it is in its own append-only file.
    const dataNode = (name: string, port: number, extra: string[]) =>
      spawnNode(name, port, [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', `${name}.rdb`,
        '--appendonly', 'yes', '--appendfsync', 'always', '--appendfilename', `${name}.aof`, '--appenddirname', `${name}-aof`,
        '--save', '', '--requirepass', password, '--masterauth', password, '--loglevel', 'warning', ...extra,
      ]);
    const primaryPortAtStart = await freePort();
    const primary = dataNode('primary', primaryPortAtStart, []);
    await mustAnswer(primary, password);
    const replica = dataNode('replica', await freePort(), ['--replicaof', '127.0.0.1', String(primaryPortAtStart)]);
    await mustAnswer(replica, password);
    await until(async () => (await infoOf(replica.port, password)).includes('master_link_status:up'), 'the replica to sync', 10000);

    const sentinelPorts: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const port = await freePort();
      const file = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `requirepass ${sentinelPassword}`,
          `sentinel sentinel-pass ${sentinelPassword}`,
          `sentinel monitor ${MASTER} 127.0.0.1 ${primaryPortAtStart} 2`,
          `sentinel auth-pass ${MASTER} ${password}`,
          `sentinel down-after-milliseconds ${MASTER} 1000`,
          `sentinel failover-timeout ${MASTER} 5000`,
          `sentinel parallel-syncs ${MASTER} 1`,
          'loglevel warning',
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      const sentinel = spawnNode(`sentinel-${i}`, port, [file, '--sentinel']);
      await mustAnswer(sentinel, sentinelPassword);
      sentinelPorts.push(port);
    }
    // Each sentinel has to have found the others (hello messages) and the replica before a failover can be agreed.
    await until(
      async () => {
        for (const port of sentinelPorts) {
          const master = await sentinelMaster(port, sentinelPassword);
          if (Number(master['num-other-sentinels']) < 2 || Number(master['num-slaves']) < 1) return false;
        }
        return true;
      },
      'the sentinels to see each other and the replica',
      20000,
    );

    const askPrimary = async (): Promise<number> => {
      for (const port of sentinelPorts) {
        try {
          const [, p] = await redisCall(port, sentinelPassword, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER]) as [string, string];
          return Number(p);
        } catch {
          // that sentinel is down: ask the next
        }
      }
      throw new Error('no sentinel answered');
    };

    return {
      // The primary at the start only: after a failover `primaryPort()` says which node it is.
      url: `redis://:${password}@127.0.0.1:${primaryPortAtStart}`,
      child: primary.child,
      env: {
        REDIS_SENTINELS: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','),
        REDIS_SENTINEL_MASTER: MASTER,
        REDIS_SENTINEL_PASSWORD: sentinelPassword,
        REDIS_PASSWORD: password,
      },
      primaryPort: askPrimary,
      async killPrimary() {
        const port = await askPrimary();
        const node = nodes.find((n) => n.port === port && !n.name.startsWith('sentinel'));
        if (!node) throw new Error(`no data node on ${port}`);
        node.child.kill('SIGKILL');
        await node.exited;
        return port;
      },
      async waitForPrimaryOtherThan(port, timeoutMs = 30000) {
        let now = port;
        await until(
          async () => {
            now = await askPrimary();
            return now !== port && (await infoOf(now, password)).includes('role:master');
          },
          `a primary other than ${port}`,
          timeoutMs,
        );
        return now;
      },
      async reopenKilled(port) {
        const dead = nodes.find((n) => n.port === port && !n.name.startsWith('sentinel'));
        if (!dead || (dead.child.exitCode === null && dead.child.signalCode === null)) throw new Error(`no killed data node on ${port}`);
        const copyPort = await freePort();
        const copy = spawnNode(`${dead.name}-copy`, copyPort, [
          '--port', String(copyPort), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', `${dead.name}.rdb`,
          '--appendonly', 'yes', '--appendfilename', `${dead.name}.aof`, '--appenddirname', `${dead.name}-aof`,
          '--save', '', '--requirepass', password, '--loglevel', 'warning',
        ]);
        await mustAnswer(copy, password);
        return { url: `redis://:${password}@127.0.0.1:${copy.port}` };
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function mustAnswer(node: Node, password: string): Promise<void> {
  const ok = await redisAnswers(`redis://:${password}@127.0.0.1:${node.port}`, () => node.child.exitCode === null, 10000);
  if (!ok) throw new Error(`${node.name} (redis-server on ${node.port}) did not start`);
}

async function redisCall(port: number, password: string, command: string[]): Promise<unknown> {
  const r = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await r.call(command[0]!, ...command.slice(1));
  } finally {
    r.disconnect();
  }
}

async function sentinelMaster(port: number, password: string): Promise<Record<string, string>> {
  const flat = (await redisCall(port, password, ['SENTINEL', 'MASTER', MASTER])) as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

async function infoOf(port: number, password: string): Promise<string> {
  try {
    return String(await redisCall(port, password, ['INFO', 'replication']));
  } catch {
    return '';
  }
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
