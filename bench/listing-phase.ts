/**
 * The listing figure (issue 13): a filtered page of operations answers in p99 < 10 ms with
 * BENCH_LIST_N operations stored (default 1,000,000; 0 skips the phase).
 *
 * A fresh redis-server is filled through the store's own write path (OperationStore.create,
 * then the transitions each operation's final status needs), many in flight at once, spread
 * over workspaces, types, providers and statuses with some rare corners: a tiny workspace,
 * a rarely used provider, a rare type. Then pages are read through OperationStore.list for
 * many filter combinations (every single filter, pairs, triples, rare and empty ones): the
 * first page of each and the pages that follow it by cursor. Both kinds are judged together;
 * the detail row gives each separately and how many pages came back short (a rare filter's
 * page stops at the scan budget and carries a cursor). A smaller sample of the same pages is
 * then read over HTTP from a real API process (informational: it adds JSON and HTTP). The
 * Redis, the API and its sandbox are stopped afterwards.
 */
import { Redis } from 'ioredis';
import { Keys } from '../src/core/keys.js';
import { DEFAULT_LIST_SCAN_BUDGET } from '../src/core/operations/list-script.js';
import { OperationStore, type OperationFilters } from '../src/core/operations/store.js';
import { acceptedOperation } from './accepted-operation.js';
import type { Operation, OperationStatus, OperationType } from '../src/core/operations/model.js';
import type { ProviderName } from '../src/common/provider.js';
import { SecretBox } from '../src/core/secrets/secret-box.js';
import { freePort, startRedis } from './redis-server.js';
import { newEngineEnv, startApi, startSandbox } from './engine.js';
import type { CeilingRow, InfoRow } from './report.js';

const log = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

/** The target: a filtered page in under this many milliseconds at p99. */
export const MAX_LIST_P99_MS = 10;
/** Operations written at once. */
const IN_FLIGHT = 512;
/** Items per page, the API's default. */
const PAGE = 50;
/** Pages read after each first page, following its cursor. */
const FOLLOW_ON = 4;
/** Times the whole set of filter combinations is read. */
const ROUNDS = 3;

export interface ListingFigures {
  ceilings: CeilingRow[];
  info: InfoRow[];
}

/** A stable pseudo-random number in [0, 1) for operation i and a purpose (so a run is repeatable). */
function unit(i: number, salt: number): number {
  let x = (i + 1) * 2654435761 + salt * 40503;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  return ((x ^ (x >>> 16)) >>> 0) / 4294967296;
}

function pick<T>(u: number, weighted: Array<[T, number]>): T {
  let acc = 0;
  for (const [value, weight] of weighted) {
    acc += weight;
    if (u < acc) return value;
  }
  return weighted[weighted.length - 1]![0];
}

const WORKSPACES: Array<[string, number]> = [
  ['production', 0.4],
  ...Array.from({ length: 18 }, (_, n) => [`team-${String(n).padStart(2, '0')}`, 0.0333] as [string, number]),
  ['tiny', 0.0001],
];
const TYPES: Array<[OperationType, number]> = [
  ['server.create', 0.55],
  ['server.delete', 0.2],
  ['server.action', 0.15],
  ['server.resize', 0.05],
  ['taskserv.create', 0.0495],
  ['workflow.cluster_create', 0.0005],
];
const PROVIDERS: Array<[ProviderName, number]> = [
  ['digitalocean', 0.5],
  ['hetzner', 0.27],
  ['vultr', 0.2],
  ['upcloud', 0.03],
];
const STATUSES: Array<[OperationStatus, number]> = [
  ['completed', 0.85],
  ['failed', 0.04],
  ['cancelled', 0.03],
  ['running', 0.02],
  ['pending', 0.06],
];

/** The operation i as the API accepts it, and the status it ends the fill in. */
function operation(i: number): { op: Operation; final: OperationStatus } {
  const workspace = pick(unit(i, 1), WORKSPACES);
  const type = pick(unit(i, 2), TYPES);
  const provider = pick(unit(i, 3), PROVIDERS);
  return {
    final: pick(unit(i, 4), STATUSES),
    op: acceptedOperation({
      type,
      workspace,
      provider,
      target: { hostname: `node-${i}` },
      request: { workspace, provider, plan: 's-1vcpu-1gb', zone: 'nyc3', hostname: `node-${i}` },
      trace_id: '',
      requested_by: 'bench',
    }),
  };
}

/** Writes operation i and moves it to its final status, as the API and a worker would. */
async function fillOne(store: OperationStore, i: number): Promise<void> {
  const { op, final } = operation(i);
  await store.create(op);
  if (final === 'pending') return;
  if (final === 'cancelled' && i % 2 === 0) {
    await store.transition(op.id, ['pending'], 'cancelled', { finished_at: new Date().toISOString() });
    return;
  }
  await store.transition(op.id, ['pending'], 'running', {}, { countAttempt: true, markStarted: true });
  if (final === 'running') return;
  const patch =
    final === 'completed'
      ? { result: { server_id: String(i) }, finished_at: new Date().toISOString() }
      : final === 'failed'
        ? { error: { code: 'PROVIDER_ERROR', message: 'the provider refused', retryable: false }, finished_at: new Date().toISOString() }
        : { finished_at: new Date().toISOString() };
  await store.transition(op.id, ['running'], final, patch);
}

async function fill(store: OperationStore, n: number): Promise<void> {
  let next = 0;
  let reported = Date.now();
  const lane = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await fillOne(store, i);
      if (Date.now() - reported > 10_000) {
        reported = Date.now();
        log(`listing: ${next} of ${n} operations written`);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
}

/** Every single filter, the pairs and triples worth asking, and rare and empty corners. */
function combinations(): Array<{ name: string; filters: OperationFilters }> {
  const f = (filters: OperationFilters) => ({ name: Object.entries(filters).map(([k, v]) => `${k}=${String(v)}`).join('&') || 'none', filters });
  const combos = [f({})];
  for (const [s] of STATUSES) combos.push(f({ status: s }));
  for (const [t] of TYPES) combos.push(f({ type: t }));
  for (const [p] of PROVIDERS) combos.push(f({ provider: p }));
  for (const w of ['production', 'team-07', 'tiny', 'nobody']) combos.push(f({ workspace: w }));
  for (const [s] of STATUSES) {
    for (const w of ['production', 'team-03', 'tiny']) combos.push(f({ status: s, workspace: w }));
    for (const [p] of PROVIDERS) combos.push(f({ status: s, provider: p }));
    combos.push(f({ status: s, type: 'server.resize' }), f({ status: s, type: 'workflow.cluster_create' }));
  }
  combos.push(
    f({ status: 'failed', workspace: 'team-05', provider: 'upcloud' }),
    f({ status: 'running', type: 'server.resize', provider: 'upcloud' }),
    f({ status: 'pending', type: 'taskserv.create', workspace: 'team-11', provider: 'vultr' }),
    f({ status: 'completed', type: 'server.create', workspace: 'production', provider: 'digitalocean' }),
    f({ type: 'server.delete', workspace: 'team-01', provider: 'hetzner' }),
    f({ status: 'failed', type: 'workflow.cluster_create', workspace: 'tiny' }),
    f({ typePrefix: 'workflow.' }),
    f({ typePrefix: 'workflow.', status: 'failed' }),
    // Visible to a caller of three workspaces, none asked for.
    f({ status: 'failed', workspaces: ['team-02', 'team-09', 'tiny'] }),
    f({ status: 'pending', provider: 'upcloud', workspace: 'nobody' }),
  );
  return combos;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function measureListing(n: number, scanBudget = DEFAULT_LIST_SCAN_BUDGET): Promise<ListingFigures> {
  if (n === 0) return { ceilings: [], info: [] };
  log(`listing: starting redis and writing ${n} operations through the store`);
  const redis = await startRedis('redis-listing');
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const sandbox = await startSandbox(undefined, 'sandbox-listing');
  try {
    // The API started for the HTTP sample reads the same key prefix.
    const engineEnv = newEngineEnv(redis.url, sandbox, 1);
    const keys = new Keys(engineEnv.keyPrefix);
    const store = new OperationStore(connection, keys, new SecretBox(Buffer.alloc(32, 7), 'bench'), scanBudget);
    const started = Date.now();
    await fill(store, n);
    const fillSeconds = (Date.now() - started) / 1000;
    const memory = /used_memory:(\d+)/.exec(await redis.client.info('memory'))?.[1];
    log(`listing: filled in ${fillSeconds.toFixed(0)} s; reading pages`);

    // From here Redis counts only the page scripts: their own time, apart from the client's and the network's.
    await redis.client.config('RESETSTAT');
    const first: number[] = [];
    const following: number[] = [];
    let short = 0;
    let pages = 0;
    let items = 0;
    const slowest: Array<{ name: string; ms: number }> = [];
    const combos = combinations();
    // Round 0 warms up (the code paths, the script cache) and is not counted.
    for (let round = 0; round <= ROUNDS; round++) {
      for (const { name, filters } of combos) {
        let cursor: string | null = null;
        for (let p = 0; p <= FOLLOW_ON; p++) {
          const t0 = process.hrtime.bigint();
          const page = await store.list({ ...filters }, PAGE, cursor);
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          cursor = page.next;
          if (round === 0) {
            if (cursor === null) break;
            continue;
          }
          (p === 0 ? first : following).push(ms);
          slowest.push({ name: `${name}${p === 0 ? '' : ` (page ${p + 1})`}`, ms });
          pages++;
          items += page.items.length;
          if (page.items.length < PAGE && page.next !== null) short++;
          if (cursor === null) break;
        }
      }
    }
    const stats = await redis.client.info('commandstats');
    const script = /cmdstat_evalsha:calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/.exec(stats);
    const http = await httpSample(engineEnv, combos);
    slowest.sort((a, b) => b.ms - a.ms);
    const all = [...first, ...following].sort((a, b) => a - b);
    first.sort((a, b) => a - b);
    following.sort((a, b) => a - b);
    const ms = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(2)} / p99 ${percentile(xs, 99).toFixed(2)} / max ${(xs[xs.length - 1] ?? 0).toFixed(2)} ms`;
    return {
      ceilings: [{ metric: `list p99 at ${n} (ms)`, value: percentile(all, 99), max: MAX_LIST_P99_MS }],
      info: [
        { metric: 'list detail', value: `first pages ${ms(first)}; follow-on pages ${ms(following)}; ${pages} pages of ${PAGE} over ${combos.length} filter combinations × ${ROUNDS}, ${items} items, ${short} short pages with a cursor` },
        { metric: 'list over HTTP', value: `${http.pages} pages (first and next of each combination, admin token): ${ms(http.ms)}` },
        { metric: 'list in Redis', value: script ? `${script[1]} page scripts, ${Number(script[3]).toFixed(0)} µs each on average (the rest of a page's time is the client decoding its records, and waiting)` : 'n/a' },
        { metric: 'list slowest pages', value: slowest.slice(0, 5).map((s) => `${s.name} ${s.ms.toFixed(2)} ms`).join('; ') },
        { metric: 'list fill', value: `${n} operations in ${fillSeconds.toFixed(0)} s (${IN_FLIGHT} in flight); Redis used_memory ${memory ? (Number(memory) / 1048576).toFixed(0) : '?'} MiB; scan budget ${scanBudget} rows per page` },
      ],
    };
  } finally {
    await redis.client.flushall().catch(() => undefined);
    connection.disconnect();
    await sandbox.child.stop();
    await redis.stop();
  }
}

/** The first page and the next one of each filter combination through a real API process, over HTTP. */
async function httpSample(env: ReturnType<typeof newEngineEnv>, combos: Array<{ filters: OperationFilters }>): Promise<{ pages: number; ms: number[] }> {
  const api = await startApi(env, await freePort());
  const times: number[] = [];
  try {
    for (const { filters } of combos) {
      // The API has no type prefix nor visibility list in its query: those are the store's callers' own.
      if (filters.typePrefix || filters.workspaces) continue;
      const query = new URLSearchParams({ limit: String(PAGE) });
      for (const key of ['status', 'type', 'workspace', 'provider'] as const) if (filters[key]) query.set(key, String(filters[key]));
      let path: string | null = `/v1/operations?${query}`;
      for (let p = 0; p < 2 && path; p++) {
        const t0 = process.hrtime.bigint();
        const res: Response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${api.token}` } });
        await res.arrayBuffer();
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
        const next = res.headers.get('x-next-cursor');
        path = next ? `/v1/operations?${query}&cursor=${next}` : null;
      }
    }
  } finally {
    await api.child.stop();
  }
  return { pages: times.length, ms: times.sort((a, b) => a - b) };
}
