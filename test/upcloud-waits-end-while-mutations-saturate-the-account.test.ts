/**
 * The long chaos run: hundreds of creates, deletes and actions queued on one UpCloud account
 * (10 requests a second) kept asking for every request that freed up, and for 8 minutes the
 * account's watcher completed no round. Every round (listing pages, then reads in full) met a
 * refusal and was thrown away, so creates whose servers had long started never completed.
 *
 * Here the account's budget is saturated by mutation takes from several connections (as
 * worker processes pressing with their creates would), and the watcher, with its own
 * adapter on the same budget, must still end every wait whose server is running, within a
 * bounded time. Real redis-server, the real watcher and registry, the sandbox over HTTP.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { loadConfig, type Config } from '../src/core/config.js';
import { closeCoreContext, createCoreContext, type CoreContext } from '../src/core/context.js';
import { createLogger } from '../src/core/logger.js';
import { createRequestBudgets } from '../src/core/rate-budget/index.js';
import { watcherSpacingMs } from '../src/core/rate-budget/model.js';
import { connectRedis } from '../src/core/redis.js';
import { accountIdFor } from '../src/providers/registry.js';
import { RequestBudgetExhaustedError } from '../src/providers/request-budget.js';
import type { ServerWait } from '../src/common/provider.js';
import { UpCloudProvider } from '../src/providers/upcloud/adapter.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { WaitRegistry } from '../src/workers/waiting/registry.js';
import { AccountWatcher } from '../src/workers/waiting/watcher.js';
import { PROVIDER_REQUESTS } from './helpers/provider-requests.js';
import { startTestRedis, type TestRedis } from './helpers/redis-server.js';

const TOKEN = 'sandbox-upcloud-saturated-token-0123456789';
const WAITS = 30;
/** Well beyond what the floor needs (about 15 s here), far below "never". */
const BOUND_MS = 45_000;

let redis: TestRedis;
let sandbox: Sandbox;
let config: Config;
let ctx: CoreContext;
const connections: Redis[] = [];

before(async () => {
  redis = await startTestRedis();
  sandbox = await startSandbox({ token: TOKEN, ssh: false, upcloud: { createDelayMs: 100, stopDelayMs: 100, restartDelayMs: 100, modifyDelayMs: 50 } });
  // UpCloud's default budget: 10 requests a second.
  config = loadConfig({ REDIS_URL: redis.url, KEY_PREFIX: 't' + randomBytes(4).toString('hex'), UPCLOUD_API_URL: sandbox.baseUrls.upcloud!, UPCLOUD_TOKEN: TOKEN, LOG_LEVEL: 'error' });
  ctx = createCoreContext(config, redis.url, createLogger('saturated-watcher-test', 'error'), 'saturated-watcher-test');
});
after(async () => {
  await Promise.all(connections.map((c) => c.quit().catch(() => undefined)));
  await closeCoreContext(ctx);
  await sandbox.close();
  await redis.stop();
});

test(`with mutations saturating an UpCloud account, the watcher still ends ${WAITS} waits on started servers within ${BOUND_MS / 1000} s`, { timeout: 120_000 }, async (t) => {
  const account = accountIdFor('upcloud', config.providers)!;
  assert.deepEqual(config.rateLimits.upcloud, [{ limit: 10, windowMs: 1000 }]);

  // The servers, made before the pressure starts (their creates are not what is measured).
  const maker = new UpCloudProvider({ baseUrl: sandbox.baseUrls.upcloud!, token: TOKEN });
  const { plan, zone } = PROVIDER_REQUESTS.upcloud;
  const registry = new WaitRegistry(ctx.redis, ctx.keys);
  const ops: string[] = [];
  for (let i = 0; i < WAITS; i++) {
    const { wait } = await maker.createServer({ name: `sat-${i}`, plan, zone, image: maker.defaultImage, tags: [], marker: `op-sat-${i}` }, {});
    assert.ok(wait);
    const operationId = `op-sat-${i}`;
    ops.push(operationId);
    await registry.register({ operationId, name: 'create#0', provider: 'upcloud', account, wait: { ...(wait as ServerWait), since: Date.now() }, deadline: Date.now() + 10 * 60_000 }, Date.now());
  }

  // Worker processes pressing with mutations: three connections, six loops each, every one
  // asking again the moment it is refused, on the account's budget in Redis.
  const pressing = new AbortController();
  setMaxListeners(100, pressing.signal);
  let mutations = 0;
  const press = async () => {
    const connection = connectRedis(redis.url, 'mutation-press');
    connections.push(connection);
    const budget = createRequestBudgets(connection, ctx.keys, config)('upcloud', account);
    const loop = async () => {
      while (!pressing.signal.aborted) {
        try {
          await budget.take('mutation', pressing.signal);
          mutations++;
        } catch (err) {
          if (!(err instanceof RequestBudgetExhaustedError) && !pressing.signal.aborted) throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, loop));
  };
  const pressure = Promise.all([press(), press(), press()]);
  t.after(() => pressing.abort());
  await new Promise((r) => setTimeout(r, 1500));
  const mutationsBefore = mutations;

  // The watcher as a worker runs it: its adapter on the same budget, its polls at 'poll'.
  // Pages of ten make a round several listing pages plus up to twenty reads in full.
  const budgets = createRequestBudgets(ctx.redis, ctx.keys, config);
  const provider = new UpCloudProvider({ baseUrl: sandbox.baseUrls.upcloud!, token: TOKEN, listPageSize: 10, http: { budget: budgets('upcloud', account) } });
  const counter = sandbox.faults.add({ provider: 'upcloud', method: 'GET', kind: 'latency', latencyMs: 0 });
  const watcher = new AccountWatcher(ctx, provider, account, ctx.queues.for('upcloud'), {
    minIntervalMs: 250,
    maxIntervalMs: 2000,
    requestSpacingMs: watcherSpacingMs(config.rateLimits.upcloud),
  });
  const started = Date.now();
  watcher.start();
  t.after(() => watcher.stop());

  const outcomes = async () => Promise.all(ops.map(async (id) => ctx.redis.hget(ctx.keys.journal(id), 'w:create#0')));
  let ended: Array<string | null> = [];
  while (Date.now() - started < BOUND_MS) {
    ended = await outcomes();
    if (ended.every((o) => o !== null)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const tookMs = Date.now() - started;
  const done = ended.filter((o) => o !== null);
  const mutationsDuring = mutations - mutationsBefore;
  t.diagnostic(
    `${done.length}/${WAITS} waits ended in ${tookMs} ms; the watcher sent ${sandbox.faults.list().find((r) => r.id === counter)!.matched} requests; ` +
      `${mutationsDuring} mutations granted meanwhile (${((mutationsDuring / tookMs) * 1000).toFixed(1)}/s)`,
  );
  assert.equal(done.length, WAITS, `${WAITS - done.length} waits still open after ${tookMs} ms`);
  for (const outcome of done) {
    const check = JSON.parse(outcome!) as { state: string; server?: { status: string; ipv4: string | null } };
    assert.equal(check.state, 'done');
    assert.equal(check.server?.status, 'running');
    assert.match(check.server?.ipv4 ?? '', /^\d+\.\d+\.\d+\.\d+$/);
  }
  // The pressure held throughout: mutations still got most of the account.
  assert.ok(mutationsDuring / (tookMs / 1000) >= 4, `mutations got only ${mutationsDuring} requests in ${tookMs} ms`);

  pressing.abort();
  await pressure;
});
