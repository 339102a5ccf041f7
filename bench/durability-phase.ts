/**
 * The durability figure: what the managed Redis's default `appendfsync always`
 * (MANAGED_REDIS_FSYNC) costs the submit path, against `everysec`. Two redis-servers keep
 * append-only files in fresh directories on the same disk, one fsyncing before it answers
 * any write, the other once a second; an API runs on each (no workers: this measures
 * accepting a request, which is what the fsync guards). Creates go through each API in
 * alternating slices (everysec, always, everysec, …, everysec), so a change in the
 * machine's load falls on both sides alike. Reported as always ÷ everysec.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchChild } from './children.js';
import { startCpuMeter, sumCpuUse, type CpuUse } from './cpu-meter.js';
import { createServerBody, newEngineEnv, startApi, startSandbox, type Api } from './engine.js';
import { assertClean, measureLoad, type LoadResult, type LoadSpec } from './http-load.js';
import { freePort, startRedis, type BenchRedis, type RedisPersistence } from './redis-server.js';
import type { InfoRow, RatioRow } from './report.js';
import type { BenchSettings } from './settings.js';

const log = (message: string): void => void process.stderr.write(`bench: ${message}\n`);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The floor for always ÷ everysec. Redis fsyncs once per event-loop turn for every write that
 * turn carried, so under concurrent submits the cost is shared; a submit path that made many
 * sequential writes (each waiting for its own fsync) would fall well under this.
 */
const MIN_ALWAYS_OVER_EVERYSEC = 0.3;

interface Side {
  label: RedisPersistence['appendfsync'];
  redis: BenchRedis;
  api: Api;
  results: LoadResult[];
  cpu: CpuUse[];
  /** Append-only file bytes before the measured slices. */
  aofBytesBefore: number;
}

export interface DurabilityFigures {
  rows: RatioRow[];
  info: InfoRow[];
}

async function aofBytes(redis: BenchRedis): Promise<number> {
  const info = await redis.client.info('persistence');
  return Number(/^aof_current_size:(\d+)/m.exec(info)?.[1] ?? 0);
}

/** The kind of file system the append-only files are on: on tmpfs an fsync costs nothing and the figure says little. */
function fileSystemType(dir: string): string {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export async function measureDurability(settings: BenchSettings, nodeArgs: string[]): Promise<DurabilityFigures> {
  const dirs: string[] = [];
  const procs: BenchChild[] = [];
  const sides: Side[] = [];
  try {
    log('durability: starting two redis-servers with append-only files (appendfsync always, everysec), the sandbox and an API on each');
    const sandbox = await startSandbox(undefined, 'durability-sandbox');
    procs.push(sandbox.child);
    for (const appendfsync of ['everysec', 'always'] as const) {
      const dir = mkdtempSync(join(settings.durability.dir, `pe-bench-aof-${appendfsync}-`));
      dirs.push(dir);
      const redis = await startRedis(`redis-${appendfsync}`, { appendfsync, dir });
      procs.push(redis.child);
      const api = await startApi(newEngineEnv(redis.url, sandbox, settings.workerConcurrency), await freePort(), nodeArgs);
      procs.push(api.child);
      sides.push({ label: appendfsync, redis, api, results: [], cpu: [], aofBytesBefore: 0 });
    }
    const [everysec, always] = sides as [Side, Side];

    let counter = 0;
    const spec = (api: Api): LoadSpec => ({
      url: api.url,
      method: 'POST',
      headers: { authorization: `Bearer ${api.token}` },
      path: () => '/v1/servers/create',
      body: () => createServerBody(counter++),
    });
    const connections = settings.connections;
    log('durability: warming up');
    for (const side of sides) {
      assertClean(`durability ${side.label} warm-up`, await measureLoad(spec(side.api), { connections, durationS: settings.warmupS }));
      side.aofBytesBefore = await aofBytes(side.redis);
    }

    const measure = async (side: Side): Promise<void> => {
      const meter = startCpuMeter([side.api.child, side.redis.child]);
      const result = await measureLoad(spec(side.api), { connections, durationS: settings.sliceS });
      side.cpu.push(meter());
      assertClean(`durability ${side.label}`, result);
      side.results.push(result);
    };
    const slices = Math.max(1, Math.round(settings.durationS / settings.sliceS));
    log(`durability: ${slices} × (everysec, always) then everysec, ${settings.sliceS} s each`);
    for (let i = 0; i < slices; i++) {
      await measure(everysec);
      await measure(always);
    }
    await measure(everysec);

    const figures = async (side: Side) => {
      const ok = side.results.reduce((sum, r) => sum + r.ok, 0);
      const seconds = side.results.reduce((sum, r) => sum + r.seconds, 0);
      return {
        perSecond: ok / seconds,
        sliceRates: side.results.map((r) => r.okPerSecond.toFixed(0)).join(' '),
        p50: mean(side.results.map((r) => r.latencyP50Ms)),
        p99: mean(side.results.map((r) => r.latencyP99Ms)),
        aofBytesPerSubmit: ((await aofBytes(side.redis)) - side.aofBytesBefore) / ok,
        cpu: sumCpuUse(side.cpu),
      };
    };
    const a = await figures(always);
    const e = await figures(everysec);
    const cpu = (c: CpuUse): string => c.map((u) => `${u.name} ${u.seconds.toFixed(1)}`).join(', ');
    return {
      rows: [{ metric: 'submit, fsync always÷everysec (req/s)', engine: a.perSecond, baseline: e.perSecond, target: MIN_ALWAYS_OVER_EVERYSEC }],
      info: [
        {
          metric: 'durability detail',
          value:
            `slices req/s always ${a.sliceRates}; everysec ${e.sliceRates}; latency p50/p99 always ${a.p50.toFixed(0)}/${a.p99.toFixed(0)} ms, ` +
            `everysec ${e.p50.toFixed(0)}/${e.p99.toFixed(0)} ms; append-only file ${a.aofBytesPerSubmit.toFixed(0)} B per submit`,
        },
        { metric: 'durability CPU', value: `always: ${cpu(a.cpu)}; everysec: ${cpu(e.cpu)} (CPU s)` },
        {
          metric: 'durability settings',
          value:
            `${connections} connections, ${settings.sliceS} s slices (+${settings.warmupS} s warm-up each), no workers; ` +
            `append-only files in ${settings.durability.dir} (${fileSystemType(settings.durability.dir)}; BENCH_DURABILITY_DIR)`,
        },
      ],
    };
  } finally {
    for (const side of [...sides].reverse()) {
      await side.api.child.stop();
      await side.redis.stop();
    }
    for (const p of procs) await p.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}
