/**
 * The submit and poll figures: the API against the bare Express baseline, same autocannon
 * settings. The two alternate in short slices (baseline, engine, baseline, …, baseline) so
 * that a change in the machine's load during the run falls on both sides alike.
 */
import { randomUUID } from 'node:crypto';
import type { BenchChild } from './children.js';
import { runWithConcurrency } from './completion-throughput.js';
import { startCpuMeter, sumCpuUse, type CpuUse } from './cpu-meter.js';
import { createServerBody, submitCreate, type Api } from './engine.js';
import { assertClean, measureLoad, type LoadResult, type LoadSpec } from './http-load.js';
import type { BenchSettings } from './settings.js';

/** One side's figures over all its slices. */
export interface SideFigures {
  /** 2xx answers per second over all slices together. */
  okPerSecond: number;
  sliceRates: number[];
  /** Means over the slices. */
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** CPU per process over all slices. */
  cpu: CpuUse;
  /** CPU the serving process spent per answered request, in microseconds. */
  serverCpuMicrosPerRequest: number;
}

export interface HttpComparison {
  engine: SideFigures;
  baseline: SideFigures;
}

/** The processes serving each side, whose CPU use is reported; the first one is the server. */
export interface ServingProcesses {
  engine: BenchChild[];
  baseline: BenchChild[];
}

const log = (message: string): void => void process.stderr.write(`bench: ${message}\n`);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Collects one side's slices. */
class Side {
  private readonly results: LoadResult[] = [];
  private readonly cpu: CpuUse[] = [];

  constructor(
    private readonly label: string,
    private readonly spec: LoadSpec,
    private readonly procs: BenchChild[],
  ) {}

  async measure(settings: { connections: number; durationS: number }): Promise<void> {
    const meter = startCpuMeter(this.procs);
    const result = await measureLoad(this.spec, settings);
    this.cpu.push(meter());
    assertClean(this.label, result);
    this.results.push(result);
  }

  figures(): SideFigures {
    const ok = this.results.reduce((sum, r) => sum + r.ok, 0);
    const seconds = this.results.reduce((sum, r) => sum + r.seconds, 0);
    const cpu = sumCpuUse(this.cpu);
    const server = this.procs[0]?.name;
    return {
      okPerSecond: ok / seconds,
      sliceRates: this.results.map((r) => r.okPerSecond),
      latencyP50Ms: mean(this.results.map((r) => r.latencyP50Ms)),
      latencyP99Ms: mean(this.results.map((r) => r.latencyP99Ms)),
      cpu,
      serverCpuMicrosPerRequest: ((cpu.find((u) => u.name === server)?.seconds ?? 0) * 1e6) / ok,
    };
  }
}

async function compare(label: string, engineSpec: LoadSpec, baselineSpec: LoadSpec, procs: ServingProcesses, settings: BenchSettings): Promise<HttpComparison> {
  const connections = settings.connections;
  log(`${label}: warming up`);
  assertClean(`${label} baseline warm-up`, await measureLoad(baselineSpec, { connections, durationS: settings.warmupS }));
  assertClean(`${label} engine warm-up`, await measureLoad(engineSpec, { connections, durationS: settings.warmupS }));

  const slices = Math.max(1, Math.round(settings.durationS / settings.sliceS));
  log(`${label}: ${slices} × (baseline, engine) then baseline, ${settings.sliceS} s each`);
  const engine = new Side(`${label} engine`, engineSpec, procs.engine);
  const baseline = new Side(`${label} baseline`, baselineSpec, procs.baseline);
  const slice = { connections, durationS: settings.sliceS };
  for (let i = 0; i < slices; i++) {
    await baseline.measure(slice);
    await engine.measure(slice);
  }
  await baseline.measure(slice);
  return { engine: engine.figures(), baseline: baseline.figures() };
}

/** Hostnames stay unique across all runs, warm-ups included. */
let createCounter = 0;

export function compareSubmit(api: Api, baselineUrl: string, procs: ServingProcesses, settings: BenchSettings): Promise<HttpComparison> {
  const spec = (url: string, headers: Record<string, string>): LoadSpec => ({
    url,
    method: 'POST',
    headers,
    path: () => '/v1/servers/create',
    body: () => createServerBody(createCounter++),
  });
  return compare('submit', spec(api.url, { authorization: `Bearer ${api.token}` }), spec(baselineUrl, {}), procs, settings);
}

export async function comparePoll(api: Api, baselineUrl: string, procs: ServingProcesses, settings: BenchSettings): Promise<HttpComparison> {
  const ids: string[] = [];
  await runWithConcurrency(settings.pollIds, 10, async () => void ids.push(await submitCreate(api, createCounter++)));
  // The baseline answers any id; give it ids of the same shape so paths are the same length.
  const baselineIds = ids.map(() => randomUUID());
  const spec = (url: string, headers: Record<string, string>, rotate: string[]): LoadSpec => ({
    url,
    method: 'GET',
    headers,
    path: (n) => `/v1/operations/${rotate[n % rotate.length]}`,
  });
  return compare('poll', spec(api.url, { authorization: `Bearer ${api.token}` }, ids), spec(baselineUrl, {}, baselineIds), procs, settings);
}
