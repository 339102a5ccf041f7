/**
 * The submit and poll figures: the API against the bare Express baseline, same autocannon
 * settings. The baseline is measured before and after the engine and averaged, so a change
 * in the machine's load during the run shows up on both sides.
 */
import { randomUUID } from 'node:crypto';
import type { BenchChild } from './children.js';
import { runWithConcurrency } from './completion-throughput.js';
import { startCpuMeter, type CpuUse } from './cpu-meter.js';
import { createServerBody, submitCreate, type Api } from './engine.js';
import { assertClean, measureLoad, type LoadResult, type LoadSpec } from './http-load.js';
import type { BenchSettings } from './settings.js';

export interface HttpComparison {
  engine: LoadResult;
  baselineBefore: LoadResult;
  baselineAfter: LoadResult;
  baselineMean: number;
  /** CPU per process during the engine run and during the first baseline run. */
  engineCpu: CpuUse;
  baselineCpu: CpuUse;
}

/** The processes serving each side, whose CPU use is reported. */
export interface ServingProcesses {
  engine: BenchChild[];
  baseline: BenchChild[];
}

const log = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

async function compare(label: string, engine: LoadSpec, baseline: LoadSpec, procs: ServingProcesses, settings: BenchSettings): Promise<HttpComparison> {
  const warmup = { connections: settings.connections, durationS: settings.warmupS };
  const measured = { connections: settings.connections, durationS: settings.durationS };
  log(`${label}: warming up`);
  assertClean(`${label} baseline warm-up`, await measureLoad(baseline, warmup));
  assertClean(`${label} engine warm-up`, await measureLoad(engine, warmup));
  log(`${label}: baseline, engine, baseline (${settings.durationS} s each)`);
  const baselineMeter = startCpuMeter(procs.baseline);
  const baselineBefore = await measureLoad(baseline, measured);
  const baselineCpu = baselineMeter();
  assertClean(`${label} baseline`, baselineBefore);
  const engineMeter = startCpuMeter(procs.engine);
  const engineResult = await measureLoad(engine, measured);
  const engineCpu = engineMeter();
  assertClean(`${label} engine`, engineResult);
  const baselineAfter = await measureLoad(baseline, measured);
  assertClean(`${label} baseline`, baselineAfter);
  return {
    engine: engineResult,
    baselineBefore,
    baselineAfter,
    baselineMean: (baselineBefore.okPerSecond + baselineAfter.okPerSecond) / 2,
    engineCpu,
    baselineCpu,
  };
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
