/**
 * The periodic reconcile compares the inventory with each provider's listing. UpCloud's
 * listing carries no addresses, and listServers reads every server in full to get them: on an
 * account of hundreds of servers, hundreds of requests per reconcile, out of the same budget
 * the account's creates and the watcher's polls need (10 a second by default). The reconcile
 * now compares what the listing shows (state, title, plan) and reads in full only the servers
 * whose record lacks an address, a bounded few per run.
 *
 * Real redis-server, real sandbox over HTTP; requests counted with a zero-latency fault rule.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { loadConfig } from '../src/core/config.js';
import { closeCoreContext, createCoreContext, type CoreContext } from '../src/core/context.js';
import { createLogger } from '../src/core/logger.js';
import { serverIdFor } from '../src/core/servers/inventory.js';
import { UpCloudProvider } from '../src/providers/upcloud/adapter.js';
import type { Provider, ProviderName, ProviderServer } from '../src/common/provider.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { reconcileOnce } from '../src/workers/reconcile.js';
import { http } from './helpers/http.js';
import { PROVIDER_REQUESTS } from './helpers/provider-requests.js';
import { startTestRedis, type TestRedis } from './helpers/redis-server.js';

const TOKEN = 'sandbox-upcloud-reconcile-token-0123456789';
const SERVERS = 150;

let redis: TestRedis;
let sandbox: Sandbox;
let ctx: CoreContext;

before(async () => {
  redis = await startTestRedis();
  sandbox = await startSandbox({ token: TOKEN, ssh: false, upcloud: { createDelayMs: 50, stopDelayMs: 50, restartDelayMs: 50, modifyDelayMs: 50 } });
  const config = loadConfig({ REDIS_URL: redis.url, KEY_PREFIX: 't' + randomBytes(4).toString('hex'), UPCLOUD_API_URL: sandbox.baseUrls.upcloud!, UPCLOUD_TOKEN: TOKEN });
  ctx = createCoreContext(config, redis.url, createLogger('reconcile-test', 'error'), 'reconcile-test');
});
after(async () => {
  await closeCoreContext(ctx);
  await sandbox.close();
  await redis.stop();
});

const adapter = () => new UpCloudProvider({ baseUrl: sandbox.baseUrls.upcloud!, token: TOKEN, pollIntervalMs: 25, http: { baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5_000 } });

async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test(`reconciling an UpCloud account of ${SERVERS} servers costs its listing and a read of the one record without an address, and still finds every drift`, { timeout: 120_000 }, async (t) => {
  const maker = adapter();
  const { plan, zone } = PROVIDER_REQUESTS.upcloud;
  const made: ProviderServer[] = [];
  for (let i = 0; i < SERVERS; i++) {
    made.push((await maker.createServer({ name: `rec-${i}`, plan, zone, image: maker.defaultImage, tags: ['env:test'], marker: `op-rec-${i}` }, {})).server);
  }
  // Every server started, and in the inventory as it is (addresses included), as its create left it.
  await eventually('every server to start', async () => ((await maker.listServerSummaries({})).every((s) => s.status === 'running') ? true : undefined));
  for (const [i, server] of made.entries()) {
    const full = await maker.getServer(server.providerId, {});
    assert.ok(full?.ipv4, 'a started server has an address');
    await ctx.inventory.upsert(full, { workspace: 'production', operationId: `op-rec-${i}` });
  }

  // Out of band: one stopped, one deleted, and one record that lost its address.
  const [stopped, deleted, blank] = [made[3]!, made[77]!, made[140]!];
  const ipOfBlank = (await ctx.inventory.get(serverIdFor('upcloud', blank.providerId)))!.ip_address;
  const ipOfStopped = (await ctx.inventory.get(serverIdFor('upcloud', stopped.providerId)))!.ip_address;
  assert.ok(ipOfBlank && ipOfStopped);
  const stopAnswer = await http(sandbox.baseUrls.upcloud!, 'POST', `/server/${stopped.providerId}/stop`, { token: TOKEN, body: { stop_server: { stop_type: 'hard' } } });
  assert.ok(stopAnswer.status < 300, JSON.stringify(stopAnswer.body));
  await maker.deleteServer(deleted.providerId, {});
  await eventually('the stop to finish', async () => ((await maker.getServer(stopped.providerId, {}))?.status === 'stopped' ? true : undefined));
  await ctx.redis.hset(ctx.keys.server(serverIdFor('upcloud', blank.providerId)), 'ip_address', '');

  // The reconcile runs in another process: an adapter that has learnt nothing yet.
  const providers = new Map<ProviderName, Provider>([['upcloud', adapter()]]);
  const counter = sandbox.faults.add({ provider: 'upcloud', kind: 'latency', latencyMs: 0 });
  const reads = sandbox.faults.add({ provider: 'upcloud', method: 'GET', path: '^/1\\.3/server/[^/]+$', kind: 'latency', latencyMs: 0 });
  const matched = (id: string) => sandbox.faults.list().find((r) => r.id === id)!.matched;

  const report = await reconcileOnce(ctx, providers);
  const cost = matched(counter);
  t.diagnostic(`first reconcile of ${SERVERS} servers: ${cost} requests (${matched(reads)} server read in full); report ${JSON.stringify({ checked: report.checked, gone: report.gone.length, changed: report.changed.length, errors: report.errors })}`);
  assert.deepEqual(report.errors, {});
  assert.equal(report.checked, SERVERS);
  // Two listing pages of 100, and the one record without an address read in full.
  assert.equal(cost, 3, `${cost} requests for ${SERVERS} servers`);
  assert.equal(matched(reads), 1);

  assert.deepEqual(report.gone, [serverIdFor('upcloud', deleted.providerId)]);
  assert.deepEqual(new Set(report.changed), new Set([serverIdFor('upcloud', stopped.providerId), serverIdFor('upcloud', blank.providerId)]));
  const stoppedRecord = await ctx.inventory.get(serverIdFor('upcloud', stopped.providerId));
  assert.equal(stoppedRecord?.status, 'stopped');
  assert.equal(stoppedRecord?.ip_address, ipOfStopped, 'the listing, which has no addresses, did not erase the recorded one');
  assert.equal(stoppedRecord?.image, maker.defaultImage, 'nor the image');
  assert.equal((await ctx.inventory.get(serverIdFor('upcloud', blank.providerId)))?.ip_address, ipOfBlank, 'the missing address is read back');
  assert.equal((await ctx.inventory.get(serverIdFor('upcloud', deleted.providerId)))?.status, 'gone');

  // Nothing left to find: the next run costs the listing alone and changes nothing.
  const before = matched(counter);
  const again = await reconcileOnce(ctx, providers);
  const second = matched(counter) - before;
  t.diagnostic(`second reconcile: ${second} requests`);
  assert.equal(second, 2);
  assert.deepEqual({ gone: again.gone, changed: again.changed }, { gone: [], changed: [] });
});
