import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, ProviderError } from '../src/common/errors.js';
import { createProviders } from '../src/providers/registry.js';
import type { CreateServerInput } from '../src/common/provider.js';
import { VultrProvider, normalizeInstanceStatus, type VultrProviderOptions } from '../src/providers/vultr/adapter.js';
import { startSandbox } from '../src/sandbox/server.js';
import type { VultrSettings, VultrSimulator } from '../src/sandbox/vultr/simulator.js';
import { rejectsWith } from './helpers/rejects-with.js';

const TOKEN = 'sandbox-vultr-key-0123456789';
const ctx = {};

/** A fresh sandbox per test, closed when the test ends, with state changes fast enough for tests. */
async function setup(t: TestContext, settings: VultrSettings = {}) {
  const sandbox = await startSandbox({
    token: TOKEN,
    vultr: { activeDelayMs: 150, bootDelayMs: 100, actionDelayMs: 100, resizeDelayMs: 150, rateLimit: false, ...settings },
  });
  t.after(() => sandbox.close());
  const baseUrl = sandbox.baseUrls.vultr;
  assert.ok(baseUrl);
  const simulator = sandbox.simulator('vultr') as unknown as VultrSimulator;
  const provider = (overrides: Partial<VultrProviderOptions> = {}) =>
    new VultrProvider({
      baseUrl,
      token: TOKEN,
      pollIntervalMs: 25,
      waitTimeoutMs: 10_000,
      ...overrides,
      http: { baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5_000, ...overrides.http },
    });
  /** Reads the simulated API directly, as a test's independent witness. */
  const api = async (path: string): Promise<any> => {
    const res = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return res.status === 204 ? null : res.json();
  };
  return { sandbox, simulator, provider, api };
}

function input(marker: string, overrides: Partial<CreateServerInput> = {}): CreateServerInput {
  return {
    name: `web-${marker}`,
    plan: 'vc2-1c-1gb',
    zone: 'ewr',
    image: '2284',
    tags: ['env:test'],
    marker,
    ...overrides,
  };
}

test('waitUntilRunning reports the status triple it waits through', async (t) => {
  // Each state long enough that the polls reliably see it, even on a busy machine.
  const { provider } = await setup(t, { activeDelayMs: 300, bootDelayMs: 200 });
  const vultr = provider();
  const { server: created } = await vultr.createServer(input('op-create'), ctx);
  const progress: string[] = [];
  const running = await vultr.waitUntilRunning(created.providerId, { onProgress: (m) => progress.push(m) });
  assert.ok(progress.some((m) => m.includes('pending/running/none')), progress.join(' | '));
  assert.ok(progress.some((m) => m.includes('active/running/installingbooting')), progress.join(' | '));
  assert.equal(progress.at(-1), `instance ${created.providerId} is active at ${running.ipv4}`);
});

test('user data reaches Vultr base64-encoded; without it none is sent', async (t) => {
  const { provider, api } = await setup(t);
  const vultr = provider();
  const userData = '#cloud-config\npackages:\n  - nginx\n';
  const { server: withData } = await vultr.createServer(input('op-user-data', { userData }), ctx);
  const stored = await api(`/instances/${withData.providerId}/user-data`);
  assert.equal(stored.user_data.data, Buffer.from(userData, 'utf8').toString('base64'));
  assert.equal(Buffer.from(stored.user_data.data, 'base64').toString('utf8'), userData);

  const { server: without } = await vultr.createServer(input('op-no-user-data'), ctx);
  assert.equal((await api(`/instances/${without.providerId}/user-data`)).user_data.data, '');
});

test('planCreate names every bad region, plan and image, and prices a good request', async (t) => {
  const { provider } = await setup(t);
  const vultr = provider();

  const badPlan = await rejectsWith(vultr.planCreate(input('p1', { plan: 'vc2-99c-1tb' }), ctx));
  assert.ok(badPlan instanceof ProviderError);
  assert.equal(badPlan.code, ErrorCodes.PROVIDER_REJECTED);
  assert.equal(badPlan.retryable, false);
  assert.match(badPlan.message, /plan 'vc2-99c-1tb'/);

  const notHere = await rejectsWith(vultr.planCreate(input('p2', { zone: 'blr', plan: 'vhf-8c-32gb' }), ctx));
  assert.ok(notHere instanceof ProviderError);
  assert.match(notHere.message, /plan 'vhf-8c-32gb' is not offered in region 'blr'/);

  const allBad = await rejectsWith(vultr.planCreate(input('p3', { zone: 'mars', plan: 'huge', image: 'windows-95' }), ctx));
  assert.ok(allBad instanceof ProviderError);
  assert.match(allBad.message, /region 'mars'/);
  assert.match(allBad.message, /plan 'huge'/);
  assert.match(allBad.message, /image 'windows-95'/);

  const plan = await vultr.planCreate(input('p4'), ctx);
  assert.deepEqual(
    { provider: plan.provider, plan: plan.plan, zone: plan.zone, image: plan.image, price_monthly: plan.price_monthly },
    { provider: 'vultr', plan: 'vc2-1c-1gb', zone: 'ewr', image: '2284', price_monthly: 5 },
  );
  assert.ok(typeof plan.price_hourly === 'number' && plan.price_hourly > 0);
});

test('a halt asked while the instance is still being provisioned waits for it to come up first', async (t) => {
  const { provider, api } = await setup(t);
  const vultr = provider();
  const { server: created } = await vultr.createServer(input('op-power'), ctx);
  const off = await vultr.powerAction(created.providerId, 'power_off', ctx);
  assert.equal(off.status, 'stopped');
  assert.equal((await api(`/instances/${created.providerId}`)).instance.power_status, 'stopped');
});

test('resize changes the plan without a power-off; a halted instance asked to stay halted stays halted', async (t) => {
  const { provider } = await setup(t);
  const vultr = provider();
  const { server: created } = await vultr.createServer(input('op-resize'), ctx);
  await vultr.waitUntilRunning(created.providerId, ctx);

  const steps: string[] = [];
  const resized = await vultr.resize(created.providerId, 'vc2-2c-4gb', true, { onProgress: (m) => steps.push(m) });
  assert.equal(resized.plan, 'vc2-2c-4gb');
  assert.equal(resized.status, 'running');
  assert.ok(!steps.some((m) => /halt|power/i.test(m.replace('no power-off needed', ''))), `steps: ${steps.join(' | ')}`);

  await vultr.powerAction(created.providerId, 'power_off', ctx);
  const stopped = await vultr.resize(created.providerId, 'vc2-4c-8gb', false, ctx);
  assert.equal(stopped.plan, 'vc2-4c-8gb');
  assert.equal(stopped.status, 'stopped');
});

test('a downsize Vultr refuses fails with Vultr\'s own message', async (t) => {
  const { provider } = await setup(t);
  const vultr = provider();
  const { server: created } = await vultr.createServer(input('op-shrink', { plan: 'vc2-2c-4gb' }), ctx);
  await vultr.waitUntilRunning(created.providerId, ctx);
  const err = await rejectsWith(vultr.resize(created.providerId, 'vc2-1c-1gb', true, ctx));
  assert.ok(err instanceof ProviderError, `got ${String(err)}`);
  assert.equal(err.code, ErrorCodes.PROVIDER_REJECTED);
  assert.equal(err.providerStatus, 400);
  assert.match(err.message, /^vultr: 400: Invalid plan chosen\./);
});

test('requestConsole hands out the instance\'s kvm URL', async (t) => {
  const { provider } = await setup(t);
  const vultr = provider();
  assert.equal(vultr.supportsConsole, true);
  const { server: created } = await vultr.createServer(input('op-console'), ctx);
  await vultr.waitUntilRunning(created.providerId, ctx);
  const access = await vultr.requestConsole(created.providerId, ctx);
  assert.equal(access.type, 'kvm-url');
  const page = await fetch(access.url);
  assert.equal(page.status, 200);
  assert.match(await page.text(), new RegExp(created.providerId));

  const missing = await rejectsWith(vultr.requestConsole('00000000-0000-0000-0000-000000000000', ctx));
  assert.equal((missing as ProviderError).code, ErrorCodes.PROVIDER_NOT_FOUND);
});

test('catalogue: every page of regions is read, and the default image is Ubuntu 24.04', async (t) => {
  const { provider } = await setup(t);
  const vultr = provider({ listPageSize: 4 });
  const [regions, images] = await Promise.all([vultr.listRegions(ctx), vultr.listImages(ctx)]);
  assert.ok(regions.length >= 17, 'every page of regions is read');
  const ubuntu = images.find((i) => i.id === vultr.defaultImage);
  assert.deepEqual(ubuntu, { provider: 'vultr', id: '2284', name: 'Ubuntu 24.04 LTS x64', distribution: 'ubuntu' });
});

test('a 429 storm from the per-IP limit delays requests but every one succeeds', async (t) => {
  // 5 requests a second; 8 at once means 3 have to wait for the window to move on.
  const { provider } = await setup(t, { rateLimit: { perSecond: 5 } });
  // Vultr sends no Retry-After, so the client's own backoff decides; pinned so the wait is known.
  const vultr = provider({ http: { retries: 6, baseDelayMs: 400, maxDelayMs: 800, random: () => 0.99 } });
  const started = Date.now();
  const lists = await Promise.all(Array.from({ length: 8 }, () => vultr.listRegions(ctx)));
  const elapsed = Date.now() - started;
  assert.ok(lists.every((regions) => regions.some((r) => r.id === 'ewr')));
  assert.ok(elapsed >= 900, `the refused requests waited for the window (took ${elapsed}ms)`);

  // Without retries the same storm surfaces as a retryable PROVIDER_RATE_LIMITED.
  const impatient = provider({ http: { retries: 0 } });
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => impatient.listRegions(ctx)));
  const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
  assert.ok(refused.length >= 3, `${refused.length} refused`);
  for (const err of refused) {
    assert.ok(err instanceof ProviderError);
    assert.equal(err.code, ErrorCodes.PROVIDER_RATE_LIMITED);
    assert.equal(err.retryable, true);
    assert.match(err.message, /^vultr: 429: Rate limit reached/);
  }
});

test('an injected run of 429s on one instance read is sat out', async (t) => {
  const { sandbox, provider } = await setup(t);
  const { server: created } = await provider().createServer(input('op-429'), ctx);
  sandbox.faults.add({ provider: 'vultr', method: 'GET', path: '^/v2/instances/', kind: 'status', status: 429, count: 3 });
  const vultr = provider({ http: { baseDelayMs: 40, maxDelayMs: 200, random: () => 0.99 } });
  const started = Date.now();
  const fetched = await vultr.getServer(created.providerId, ctx);
  assert.equal(fetched?.providerId, created.providerId);
  // Backoff of about 40 + 80 + 160 ms before the fourth try.
  assert.ok(Date.now() - started >= 250, `took ${Date.now() - started}ms`);
});

test('a create that stalls makes waitUntilRunning give up with PROVIDER_TIMEOUT', async (t) => {
  const { simulator, provider } = await setup(t);
  const vultr = provider({ waitTimeoutMs: 600 });
  simulator.configure({ stallNextCreates: 1 });
  const { server: stuck } = await vultr.createServer(input('op-stuck'), ctx);
  const timedOut = await rejectsWith(vultr.waitUntilRunning(stuck.providerId, ctx));
  assert.ok(timedOut instanceof ProviderError, `got ${String(timedOut)}`);
  assert.equal(timedOut.code, ErrorCodes.PROVIDER_TIMEOUT);
  assert.equal(timedOut.retryable, true);
});

test('the status triple maps onto the normalized statuses', () => {
  const cases: Array<[[string, string, string], string]> = [
    [['pending', 'running', 'none'], 'provisioning'],
    [['active', 'running', 'none'], 'provisioning'],
    [['active', 'running', 'installingbooting'], 'provisioning'],
    [['active', 'running', 'ok'], 'running'],
    [['active', 'stopped', 'ok'], 'stopped'],
    [['active', 'stopped', 'none'], 'stopped'],
    [['active', 'running', 'locked'], 'busy'],
    [['active', 'stopped', 'locked'], 'busy'],
    [['resizing', 'running', 'ok'], 'busy'],
    [['suspended', 'stopped', 'none'], 'busy'],
    [['melting', 'running', 'ok'], 'unknown'],
  ];
  for (const [[status, power, server], expected] of cases) {
    assert.equal(normalizeInstanceStatus(status, power, server), expected, `${status}/${power}/${server}`);
  }
});

test('createProviders builds the Vultr adapter when Vultr is configured', () => {
  const providers = createProviders({ vultr: { baseUrl: 'http://127.0.0.1:1/vultr/v2', token: 't' } });
  assert.deepEqual([...providers.keys()], ['vultr']);
  const vultr = providers.get('vultr');
  assert.ok(vultr instanceof VultrProvider);
  assert.equal(vultr.defaultImage, '2284');
});
