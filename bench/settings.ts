/** What the benchmark measures and for how long; a few settings can be overridden from the environment. */
import { tmpdir } from 'node:os';

export interface BenchSettings {
  /** Seconds the engine is measured per HTTP figure, in slices that alternate with the baseline. */
  durationS: number;
  /** Seconds of one slice. */
  sliceS: number;
  /** Seconds of the unmeasured run before the first measured one, per server and route. */
  warmupS: number;
  /** Concurrent HTTP connections of every HTTP run. */
  connections: number;
  /** Operations (and baseline jobs) of each end-to-end run. */
  e2eCount: number;
  /** Units run, and waited for, before each end-to-end run starts its clock. */
  e2eWarmupCount: number;
  /** Submits (or adds) in flight during an end-to-end run. */
  e2eSubmitConcurrency: number;
  /** Whether the end-to-end phase runs a second time with both systems on three-master Redis Clusters (BENCH_E2E_CLUSTER, 1). */
  e2eOnCluster: boolean;
  /** Worker processes, engine and baseline alike. */
  workers: number;
  /** Jobs each worker process runs at once, engine and baseline alike (the engine's default). */
  workerConcurrency: number;
  /** Operation ids the poll run rotates over. */
  pollIds: number;
  /** Where the API and workers write V8 CPU profiles (`--cpu-prof`), if anywhere. */
  cpuProfileDir: string | null;
  /** Only these phases; null runs all of them. */
  only: 'capacity' | 'durability' | 'footprint' | 'listing' | 'e2e' | 'http' | null;
  /** Finished operations the footprint phase fills a fresh Redis with (0 skips it). */
  footprintCount: number;
  /** Operations the listing phase fills a fresh Redis with before it reads filtered pages (0 skips it). */
  listCount: number;
  capacity: CapacitySettings;
  durability: DurabilitySettings;
}

/** The durability phase: submits with the managed Redis's fsync policy against `everysec`. */
export interface DurabilitySettings {
  /** Where the two Redis servers keep their append-only files (a fresh directory each, removed after). */
  dir: string;
}

/** The capacity phases: creates that wait for their servers to boot, under the provider's real rate limit. */
export interface CapacitySettings {
  /** Creates submitted at once in the judged batch. */
  count: number;
  /** Seconds a droplet takes from `new` to `active`. */
  bootS: number;
  /** Creates of the informational large batch; 0 skips it. */
  largeCount: number;
  /** Nodes of the judged `cluster_create` workflow (1–100, the workflow's own limit); 0 skips it. */
  clusterNodes: number;
  /** check_mode creates (0 skips them), and how many are in flight at once. */
  checkModeCount: number;
  checkModeConcurrency: number;
}

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new Error(`${name} must be a positive whole number, got '${raw}'`);
  return Number(raw);
}

function nonNegativeInt(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number (0 or more), got '${raw}'`);
  return Number(raw);
}

/** The `cluster_create` workflow takes 1–100 nodes (src/core/workflows/schemas.ts). */
const MAX_CLUSTER_NODES = 100;

function clusterNodes(): number {
  const nodes = nonNegativeInt('BENCH_CLUSTER_NODES', MAX_CLUSTER_NODES);
  if (nodes > MAX_CLUSTER_NODES) throw new Error(`BENCH_CLUSTER_NODES must be at most ${MAX_CLUSTER_NODES} (cluster_create's limit), got ${nodes}`);
  return nodes;
}

function onlyPhases(): BenchSettings['only'] {
  const raw = process.env.BENCH_ONLY?.trim();
  if (!raw) return null;
  if (raw !== 'capacity' && raw !== 'durability' && raw !== 'footprint' && raw !== 'listing' && raw !== 'e2e' && raw !== 'http')
    throw new Error(`BENCH_ONLY must be 'capacity', 'durability', 'footprint', 'listing', 'e2e' or 'http' (or unset for every phase), got '${raw}'`);
  return raw;
}

export function loadSettings(): BenchSettings {
  const durationS = positiveInt('BENCH_DURATION_S', 8);
  const e2eCount = positiveInt('BENCH_E2E_N', 1000);
  return {
    durationS,
    sliceS: Math.min(2, durationS),
    warmupS: Math.min(2, durationS),
    connections: 50,
    e2eCount,
    // A whole round: with less, the first measured round still runs measurably slower.
    e2eWarmupCount: e2eCount,
    e2eSubmitConcurrency: 50,
    e2eOnCluster: nonNegativeInt('BENCH_E2E_CLUSTER', 1) > 0,
    workers: 2,
    workerConcurrency: 20,
    pollIds: 100,
    cpuProfileDir: process.env.BENCH_CPU_PROF_DIR?.trim() || null,
    only: onlyPhases(),
    footprintCount: nonNegativeInt('BENCH_FOOTPRINT_N', 100_000),
    listCount: nonNegativeInt('BENCH_LIST_N', 1_000_000),
    capacity: {
      count: positiveInt('BENCH_CAPACITY_N', 200),
      bootS: positiveInt('BENCH_CAPACITY_BOOT_S', 20),
      largeCount: nonNegativeInt('BENCH_CAPACITY_LARGE_N', 1000),
      clusterNodes: clusterNodes(),
      checkModeCount: nonNegativeInt('BENCH_CHECK_MODE_N', 2000),
      checkModeConcurrency: 50,
    },
    durability: { dir: process.env.BENCH_DURABILITY_DIR?.trim() || tmpdir() },
  };
}
