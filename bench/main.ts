/**
 * `npm run bench`: measures the engine against plain Express and plain BullMQ on this
 * machine, in the same run, and prints engine ÷ baseline ratios against their targets.
 * The machine is shared and noisy, so these are judged only as ratios, never as absolute
 * figures. Then the capacity phases (capacity-phases.ts): creates waiting for their servers
 * to boot on one DigitalOcean account with its real rate limit (250/min + 5000/h) in the
 * sandbox, under the start command's default worker settings, judged against the physics
 * of the case (boot time, rate limit), a 100-node cluster_create workflow on the same
 * system, and a burst of check_mode creates. In between, the durability phase: what fsyncing
 * every write (the managed Redis's default) costs the submit path, against once a second.
 * Exits 0 when every target is met, 1 otherwise (or on any failure).
 *
 * Environment:
 *   BENCH_DURATION_S        seconds the engine is measured per HTTP figure (default 8)
 *   BENCH_E2E_N             operations per end-to-end round (default 1000)
 *   BENCH_CPU_PROF_DIR      write V8 CPU profiles of the API and workers there
 *   BENCH_E2E_COMMANDSTATS  set: log the Redis commands one end-to-end unit costs, by command
 *   BENCH_CAPACITY_N        creates submitted at once in the judged capacity batch (default 200)
 *   BENCH_CAPACITY_BOOT_S   seconds a droplet takes from `new` to `active` there (default 20)
 *   BENCH_CAPACITY_LARGE_N  creates of the informational large batch, judged against its own
 *                           rate-limit bound; takes minutes (default 1000; 0 skips it)
 *   BENCH_CLUSTER_NODES     nodes of the cluster_create workflow, which must finish within
 *                           1.5 × BENCH_CAPACITY_BOOT_S (default 100, at most 100; 0 skips it)
 *   BENCH_CHECK_MODE_N      check_mode creates, 50 in flight, which must finish within 30 s
 *                           (default 2000; 0 skips them)
 *   BENCH_ONLY=capacity     run only the capacity phases (the batches, cluster_create and
 *                           check_mode); e.g. a quick run:
 *                           BENCH_ONLY=capacity BENCH_CAPACITY_LARGE_N=0 npm run bench
 *   BENCH_ONLY=durability   run only the durability phase (durability-phase.ts, about 20 s):
 *                           submits/s with Redis at appendfsync always ÷ everysec
 *   BENCH_DURABILITY_DIR    where that phase's append-only files go (default the system's
 *                           temporary directory; put it on the disk Redis will use)
 *   BENCH_FOOTPRINT_N       finished operations the footprint phase (footprint-phase.ts) fills a
 *                           fresh Redis with, judged as bytes per operation ≤ 1024 (default
 *                           100000, under a minute; 0 skips it)
 *   BENCH_ONLY=footprint    run only the footprint phase
 *   BENCH_LIST_N            operations the listing phase (listing-phase.ts) fills a fresh Redis
 *                           with through the store before it times filtered pages, judged as
 *                           list p99 < 10 ms (default 1000000, a few minutes; 0 skips it)
 *   BENCH_ONLY=listing      run only the listing phase
 *   BENCH_ONLY=e2e          run only the end-to-end phase (engine ÷ bare BullMQ, with CPU and
 *                           Redis commands per operation, and the floor of e2e-floor.ts), on
 *                           fresh Redis servers and sandbox
 *   BENCH_ONLY=http         run only the submit and poll phases (API ÷ bare Express, with CPU
 *                           per request), on a fresh Redis and sandbox
 *   BENCH_E2E_CLUSTER=0     skip the end-to-end phase's second run, with both systems on
 *                           three-master Redis Clusters (on by default)
 */
import { formatCpuUse } from './cpu-meter.js';
import { killAllChildrenNow, spawnTsChild, stopAllChildren } from './children.js';
import { compareEndToEnd, type E2eComparison, type SystemFigures } from './e2e-phases.js';
import { clusterRedis, oneRedis } from './e2e-redis.js';
import { newEngineEnv, startApi, startSandbox, type Sandbox } from './engine.js';
import { startRedisCluster } from './redis-cluster.js';
import { comparePoll, compareSubmit, type HttpComparison } from './http-phases.js';
import { capacityRows, measureCapacity } from './capacity-phases.js';
import { measureDurability } from './durability-phase.js';
import { measureFootprint, type FootprintFigures } from './footprint-phase.js';
import { measureListing, type ListingFigures } from './listing-phase.js';
import { formatTable, mebibytes, passes, staysUnder, type InfoRow, type RatioRow } from './report.js';
import { freePort, startRedis, type BenchRedis } from './redis-server.js';
import { loadSettings, type BenchSettings } from './settings.js';

const log = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

async function runBench(): Promise<boolean> {
  const settings = loadSettings();
  const nodeArgs = settings.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfileDir}`] : [];
  const footprint: FootprintFigures =
    settings.footprintCount > 0 && (settings.only === null || settings.only === 'footprint') ? await measureFootprint(settings.footprintCount) : { ceilings: [], info: [] };
  const listing: ListingFigures =
    settings.listCount > 0 && (settings.only === null || settings.only === 'listing') ? await measureListing(settings.listCount) : { ceilings: [], info: [] };
  if (settings.only === 'listing') {
    process.stdout.write(`\n${formatTable([], listing.info, listing.ceilings)}\n`);
    return listing.ceilings.every(staysUnder);
  }
  if (settings.only === 'footprint') {
    process.stdout.write(`\n${formatTable([], footprint.info, footprint.ceilings)}\n`);
    return footprint.ceilings.every(staysUnder);
  }
  if (settings.only === 'e2e') {
    const e2e = await runEndToEndOnly(settings, nodeArgs);
    process.stdout.write(`\n${formatTable(e2e.rows, e2e.info)}\n`);
    return e2e.rows.every(passes);
  }
  if (settings.only === 'http') {
    const http = await runHttpOnly(settings, nodeArgs);
    process.stdout.write(`\n${formatTable(http.rows, http.info)}\n`);
    return http.rows.every(passes);
  }
  if (settings.only === 'durability') {
    const durability = await measureDurability(settings, nodeArgs);
    process.stdout.write(`\n${formatTable(durability.rows, durability.info)}\n`);
    return durability.rows.every(passes);
  }
  const throughput =
    settings.only === null ? await runThroughputPhases(settings, nodeArgs) : { rows: [], info: [], engineRedis: await startRedis('redis-engine') };
  const durability = settings.only === null ? await measureDurability(settings, nodeArgs) : { rows: [], info: [] };
  // The capacity phases reuse the engine's Redis (flushed per batch) and start their own sandbox.
  const capacity = capacityRows(await measureCapacity(throughput.engineRedis, settings.capacity, nodeArgs), settings.capacity);
  const rows = [...throughput.rows, ...durability.rows];
  const ceilings = [...capacity.ceilings, ...footprint.ceilings, ...listing.ceilings];
  process.stdout.write(`\n${formatTable(rows, [...throughput.info, ...durability.info, ...capacity.info, ...footprint.info, ...listing.info], ceilings)}\n`);
  return rows.every(passes) && ceilings.every(staysUnder);
}

/** Only the end-to-end phase, on fresh Redis servers and a fresh sandbox: a quick way to iterate on its cost. */
async function runEndToEndOnly(settings: BenchSettings, nodeArgs: string[]): Promise<{ rows: RatioRow[]; info: InfoRow[] }> {
  log(`starting redis and sandbox for the end-to-end phase only`);
  const engineRedis = await startRedis('redis-engine');
  const baselineRedis = await startRedis('redis-baseline');
  const sandbox = await startSandbox();
  const e2e = await compareEndToEnd(oneRedis(engineRedis), newEngineEnv(engineRedis.url, sandbox, settings.workerConcurrency), oneRedis(baselineRedis), settings, nodeArgs);
  const onCluster = settings.e2eOnCluster ? await endToEndOnClusters(sandbox, settings, nodeArgs) : null;
  await sandbox.child.stop();
  await baselineRedis.stop();
  await engineRedis.stop();
  return { rows: [e2eRow(e2e), ...(onCluster ? [onCluster.row] : [])], info: [...e2eInfo(e2e), ...(onCluster?.info ?? [])] };
}

/**
 * The end-to-end phase again with the engine and bare BullMQ each on a three-master Redis
 * Cluster (REDIS_CLUSTER_NODES; the baseline's queue under a hash-tagged prefix, as BullMQ
 * asks on a cluster), so the cluster's own cost is in both.
 */
async function endToEndOnClusters(sandbox: Sandbox, settings: BenchSettings, nodeArgs: string[]): Promise<{ row: RatioRow; info: InfoRow[] }> {
  log(`e2e on Redis Clusters: starting two three-master clusters`);
  const engineCluster = await startRedisCluster('cluster-engine');
  try {
    const baselineCluster = await startRedisCluster('cluster-baseline');
    try {
      const engine = clusterRedis(engineCluster);
      const e2e = await compareEndToEnd(engine, newEngineEnv(engine.env, sandbox, settings.workerConcurrency), clusterRedis(baselineCluster), settings, nodeArgs);
      return {
        row: { ...e2eRow(e2e), metric: 'end-to-end on a Redis Cluster (ops/s)' },
        info: e2eInfo(e2e).map((row) => ({ ...row, metric: `${row.metric} (cluster)` })),
      };
    } finally {
      await baselineCluster.stop();
    }
  } finally {
    await engineCluster.stop();
  }
}

// The target: completed creates at a quarter of bare BullMQ's rate, or better.
const e2eRow = (e2e: E2eComparison): RatioRow => ({ metric: 'end-to-end (ops/s)', engine: e2e.engine.perSecond, baseline: e2e.baseline.perSecond, target: 0.25 });

/** The end-to-end figures beside the ratio: where the time, CPU and Redis commands go. */
function e2eInfo(e2e: E2eComparison): InfoRow[] {
  const seconds = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(' ');
  const cpuMsPerUnit = (f: SystemFigures): string => ((f.cpu.reduce((sum, u) => sum + u.seconds, 0) * 1000) / f.count).toFixed(2);
  return [
    {
      metric: 'end-to-end Redis commands per unit',
      value: `engine ${e2e.engine.redisCommandsPerUnit.toFixed(1)}, bare BullMQ ${e2e.baseline.redisCommandsPerUnit.toFixed(1)} (scripts' inner calls and count polls included)`,
    },
    {
      metric: 'end-to-end detail',
      value:
        `round seconds engine ${seconds(e2e.engine.roundSeconds)}; bare BullMQ ${seconds(e2e.baseline.roundSeconds)}; ` +
        `Redis commands per unit (scripts' and count polls included) engine ${e2e.engine.redisCommandsPerUnit.toFixed(0)}, ` +
        `bare BullMQ ${e2e.baseline.redisCommandsPerUnit.toFixed(0)}`,
    },
    {
      metric: 'end-to-end CPU',
      value:
        `all processes per unit: engine ${cpuMsPerUnit(e2e.engine)} ms, bare BullMQ ${cpuMsPerUnit(e2e.baseline)} ms; ` +
        `engine rounds ${formatCpuUse(e2e.engine.cpu)}; baseline rounds ${formatCpuUse(e2e.baseline.cpu)}`,
    },
    {
      metric: 'end-to-end floor',
      value:
        `bare API + BullMQ + one provider call: ${e2e.floor.perSecond.toFixed(0)} ops/s, ${(e2e.floor.perSecond / e2e.baseline.perSecond).toFixed(2)} × bare BullMQ ` +
        `(the highest ratio this machine allows); engine ${(e2e.engine.perSecond / e2e.floor.perSecond).toFixed(2)} × floor; ` +
        `CPU per unit ${cpuMsPerUnit(e2e.floor)} ms (${formatCpuUse(e2e.floor.cpu)})`,
    },
    { metric: 'worker RSS after e2e', value: `engine ${e2e.engine.workerRssBytes.map(mebibytes).join(', ')}; bare BullMQ ${e2e.baseline.workerRssBytes.map(mebibytes).join(', ')}` },
  ];
}

/** Submit and poll requests/s: the API alone (no workers) against the bare Express baseline. */
async function measureHttp(engineRedis: BenchRedis, sandbox: Sandbox, settings: BenchSettings, nodeArgs: string[]): Promise<{ rows: RatioRow[]; info: InfoRow[] }> {
  const baselineHttp = spawnTsChild('baseline-http', 'bench/baseline-http-server.ts', {});
  const ready = await baselineHttp.waitForLine('BASELINE_HTTP_READY ', 30000);
  const baselineUrl = (JSON.parse(ready.slice('BASELINE_HTTP_READY '.length)) as { url: string }).url;

  // No workers during the HTTP phases: they measure the API alone.
  const api = await startApi(newEngineEnv(engineRedis.url, sandbox, settings.workerConcurrency), await freePort(), nodeArgs);
  const serving = { engine: [api.child, engineRedis.child], baseline: [baselineHttp] };
  const submit = await compareSubmit(api, baselineUrl, serving, settings);
  const apiRss = api.child.rssBytes();
  const poll = await comparePoll(api, baselineUrl, serving, settings);
  await api.child.stop();
  await baselineHttp.stop();

  const rates = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(' ');
  const httpDetail = (c: HttpComparison): string =>
    `slices req/s engine ${rates(c.engine.sliceRates)}; baseline ${rates(c.baseline.sliceRates)}; ` +
    `latency p50/p99 engine ${c.engine.latencyP50Ms.toFixed(0)}/${c.engine.latencyP99Ms.toFixed(0)} ms, ` +
    `baseline ${c.baseline.latencyP50Ms.toFixed(0)}/${c.baseline.latencyP99Ms.toFixed(0)} ms`;
  const httpCpu = (c: HttpComparison): string =>
    `server CPU per request: API ${c.engine.serverCpuMicrosPerRequest.toFixed(0)} µs, baseline ${c.baseline.serverCpuMicrosPerRequest.toFixed(0)} µs; ` +
    `engine slices ${formatCpuUse(c.engine.cpu)}; baseline slices ${formatCpuUse(c.baseline.cpu)}`;
  return {
    rows: [
      { metric: 'submit (req/s)', engine: submit.engine.okPerSecond, baseline: submit.baseline.okPerSecond, target: 0.5 },
      { metric: 'poll (req/s)', engine: poll.engine.okPerSecond, baseline: poll.baseline.okPerSecond, target: 0.7 },
    ],
    info: [
      { metric: 'submit detail', value: httpDetail(submit) },
      { metric: 'poll detail', value: httpDetail(poll) },
      { metric: 'submit CPU', value: httpCpu(submit) },
      { metric: 'poll CPU', value: httpCpu(poll) },
      { metric: 'API RSS after submit', value: mebibytes(apiRss) },
      {
        metric: 'HTTP settings',
        value: `${settings.connections} connections, ${settings.durationS} s per side in ${settings.sliceS} s slices (+${settings.warmupS} s warm-up); ${settings.pollIds} operations polled in turn`,
      },
    ],
  };
}

/** Only submit and poll, on a fresh Redis and sandbox: a quick way to iterate on the API's cost. */
async function runHttpOnly(settings: BenchSettings, nodeArgs: string[]): Promise<{ rows: RatioRow[]; info: InfoRow[] }> {
  log(`starting redis, sandbox and baseline server for the submit and poll phases only`);
  const engineRedis = await startRedis('redis-engine');
  const sandbox = await startSandbox();
  const http = await measureHttp(engineRedis, sandbox, settings, nodeArgs);
  await sandbox.child.stop();
  await engineRedis.stop();
  return http;
}

/** The engine ÷ baseline phases: submit, poll and end-to-end throughput. */
async function runThroughputPhases(settings: BenchSettings, nodeArgs: string[]): Promise<{ rows: RatioRow[]; info: InfoRow[]; engineRedis: BenchRedis }> {
  log(`starting redis, sandbox, baseline server and API`);
  // Two Redis servers, so the baseline's queue shares nothing with the engine's.
  const engineRedis = await startRedis('redis-engine');
  const baselineRedis = await startRedis('redis-baseline');
  const sandbox = await startSandbox();
  const http = await measureHttp(engineRedis, sandbox, settings, nodeArgs);

  // The HTTP phases left thousands of pending operations; the end-to-end run starts clean.
  await engineRedis.client.flushall();
  const e2e = await compareEndToEnd(oneRedis(engineRedis), newEngineEnv(engineRedis.url, sandbox, settings.workerConcurrency), oneRedis(baselineRedis), settings, nodeArgs);
  const onCluster = settings.e2eOnCluster ? await endToEndOnClusters(sandbox, settings, nodeArgs) : null;

  const rows: RatioRow[] = [...http.rows, e2eRow(e2e), ...(onCluster ? [onCluster.row] : [])];
  const info: InfoRow[] = [
    ...http.info,
    ...e2eInfo(e2e),
    ...(onCluster?.info ?? []),
    {
      metric: 'e2e settings',
      value:
        `e2e ${settings.e2eCount} per round (+${settings.e2eWarmupCount} warm-up), ${settings.e2eSubmitConcurrency} in flight, ` +
        `${settings.workers} workers × concurrency ${settings.workerConcurrency}, PROVIDER_POLL_MS 20, ` +
        `no provider rate limit (sandbox) nor engine budget (RATE_LIMIT_DIGITALOCEAN=off)`,
    },
  ];
  await sandbox.child.stop();
  await baselineRedis.stop();
  return { rows, info, engineRedis };
}

// The first reason to stop decides the exit code; later ones (e.g. a run failing because
// Ctrl-C already stopped its processes) wait for the same clean-up.
let exitCode: number | null = null;
let stopped: Promise<void> | null = null;
async function stopAndExit(code: number): Promise<never> {
  exitCode ??= code;
  stopped ??= stopAllChildren().catch((err: unknown) => log(`while stopping: ${String(err)}`));
  await stopped;
  process.exit(exitCode);
}

process.on('exit', killAllChildrenNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping`);
    void stopAndExit(130);
  });
}

try {
  const allMet = await runBench();
  await stopAndExit(allMet ? 0 : 1);
} catch (err) {
  // After Ctrl-C the run fails as its processes go away; that is not worth a stack trace.
  if (exitCode === null) log(`failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  await stopAndExit(1);
}
