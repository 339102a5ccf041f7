import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { AbortedError, ErrorCodes, ProviderError } from '../src/core/errors.js';
import {
  DigitalOceanProvider,
  normalizeDropletStatus,
  type DigitalOceanProviderOptions,
} from '../src/providers/digitalocean.js';
import { createProviders } from '../src/providers/registry.js';
import type { CreateServerInput } from '../src/providers/types.js';
import { startSandbox } from '../src/sandbox/server.js';
import { rejectsWith } from './helpers/rejects-with.js';

const TOKEN = 'sandbox-do-token-0123456789';
const ctx = {};

/** A fresh sandbox per test, closed when the test ends, with state changes fast enough for tests. */
async function setup(t: TestContext, opts: { activeDelayMs?: number; actionDelayMs?: number } = {}) {
  const sandbox = await startSandbox({
    token: TOKEN,
    digitalocean: { activeDelayMs: opts.activeDelayMs ?? 150, actionDelayMs: opts.actionDelayMs ?? 100, rateLimit: false },
  });
  t.after(() => sandbox.close());
  const provider = (overrides: Partial<DigitalOceanProviderOptions> = {}) =>
    new DigitalOceanProvider({
      baseUrl: sandbox.digitaloceanBaseUrl,
      token: TOKEN,
      pollIntervalMs: 50,
      waitTimeoutMs: 10_000,
      ...overrides,
      http: { baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5_000, ...overrides.http },
    });
  return { sandbox, provider };
}

function input(marker: string, overrides: Partial<CreateServerInput> = {}): CreateServerInput {
  return {
    name: `web-${marker}`,
    plan: 's-1vcpu-1gb',
    zone: 'nyc3',
    image: 'ubuntu-24-04-x64',
    tags: ['env:test'],
    marker,
    ...overrides,
  };
}


test('create, then waitUntilRunning ends with a running droplet that has a public IPv4', async (t) => {
  const { provider } = await setup(t);
  const doProvider = provider();
  const { server: created } = await doProvider.createServer(input('op-create'), ctx);
  assert.equal(created.provider, 'digitalocean');
  assert.match(created.providerId, /^\d+$/);
  assert.equal(created.status, 'provisioning');
  assert.equal(created.ipv4, null);
  assert.equal(created.plan, 's-1vcpu-1gb');
  assert.equal(created.zone, 'nyc3');
  assert.equal(created.image, 'ubuntu-24-04-x64');
  assert.deepEqual([...created.tags].sort(), ['env:test', 'pe-op:op-create']);

  const progress: string[] = [];
  const running = await doProvider.waitUntilRunning(created.providerId, { onProgress: (m) => progress.push(m) });
  assert.equal(running.status, 'running');
  assert.match(running.ipv4 ?? '', /^\d+\.\d+\.\d+\.\d+$/);
  assert.equal(running.providerId, created.providerId);
  assert.ok(progress.includes(`waiting for droplet ${created.providerId} to become active: new`), progress.join(' | '));
});

test('findByMarker finds the droplet made with that marker and nothing for another marker', async (t) => {
  const { provider } = await setup(t);
  const doProvider = provider();
  const { server: mine } = await doProvider.createServer(input('op-mine'), ctx);
  await doProvider.createServer(input('op-other'), ctx);
  const found = await doProvider.findByMarker('op-mine', ctx);
  assert.equal(found?.providerId, mine.providerId);
  assert.equal(await doProvider.findByMarker('op-nobody', ctx), null);
});

test('planCreate names an unknown size, region or image, and prices a good request', async (t) => {
  const { provider } = await setup(t);
  const doProvider = provider();

  const badSize = await rejectsWith(doProvider.planCreate(input('p1', { plan: 's-99vcpu-1tb' }), ctx));
  assert.ok(badSize instanceof ProviderError);
  assert.equal(badSize.code, ErrorCodes.PROVIDER_REJECTED);
  assert.match(badSize.message, /s-99vcpu-1tb/);

  const badRegion = await rejectsWith(doProvider.planCreate(input('p2', { zone: 'mars1' }), ctx));
  assert.ok(badRegion instanceof ProviderError);
  assert.match(badRegion.message, /region 'mars1'/);

  const badImage = await rejectsWith(doProvider.planCreate(input('p3', { image: 'windows-95' }), ctx));
  assert.ok(badImage instanceof ProviderError);
  assert.match(badImage.message, /image 'windows-95'/);

  const plan = await doProvider.planCreate(input('p4'), ctx);
  assert.equal(plan.provider, 'digitalocean');
  assert.equal(plan.plan, 's-1vcpu-1gb');
  assert.equal(plan.zone, 'nyc3');
  assert.ok(typeof plan.price_monthly === 'number' && plan.price_monthly > 0);
  assert.ok(typeof plan.price_hourly === 'number' && plan.price_hourly > 0);
});

test('listServers follows pagination past the first page', async (t) => {
  const { provider } = await setup(t);
  const doProvider = provider({ listPageSize: 10 });
  const created = new Set<string>();
  for (let i = 0; i < 25; i++) {
    const { server: s } = await doProvider.createServer(input(`op-list-${i}`, { name: `list-${i}` }), ctx);
    created.add(s.providerId);
  }
  const listed = await doProvider.listServers(ctx);
  const ids = listed.map((s) => s.providerId);
  assert.equal(ids.length, 25);
  assert.equal(new Set(ids).size, 25, 'no droplet is listed twice');
  assert.deepEqual(new Set(ids), created);
});

test('power_off, power_on and reboot wait for their action and return the refreshed droplet', async (t) => {
  const { provider } = await setup(t);
  const doProvider = provider();
  const { server: created } = await doProvider.createServer(input('op-power'), ctx);
  await doProvider.waitUntilRunning(created.providerId, ctx);

  const off = await doProvider.powerAction(created.providerId, 'power_off', ctx);
  assert.equal(off.status, 'stopped');
  const stillOff = await doProvider.powerAction(created.providerId, 'power_off', ctx);
  assert.equal(stillOff.status, 'stopped');
  const on = await doProvider.powerAction(created.providerId, 'power_on', ctx);
  assert.equal(on.status, 'running');
  const rebooted = await doProvider.powerAction(created.providerId, 'reboot', ctx);
  assert.equal(rebooted.status, 'running');
  assert.equal(rebooted.ipv4, on.ipv4);
});

test('resize powers a running droplet off, resizes it and powers it back on, reporting each step', async (t) => {
  const { provider } = await setup(t);
  const doProvider = provider();
  const { server: created } = await doProvider.createServer(input('op-resize'), ctx);
  await doProvider.waitUntilRunning(created.providerId, ctx);
  const steps: string[] = [];
  const resized = await doProvider.resize(created.providerId, 's-2vcpu-4gb', true, { onProgress: (m) => steps.push(m) });
  assert.equal(resized.plan, 's-2vcpu-4gb');
  assert.equal(resized.status, 'running');
  const order = ['powering off', 'resizing', 'back on'].map((word) => steps.findIndex((m) => m.includes(word)));
  assert.ok(order.every((i) => i >= 0), `steps: ${steps.join(' | ')}`);
  assert.deepEqual([...order].sort((a, b) => a - b), order, 'off, then resize, then on');

  // A rerun that finds the resize done only restores the power state.
  await doProvider.powerAction(created.providerId, 'power_off', ctx);
  const again = await doProvider.resize(created.providerId, 's-2vcpu-4gb', false, ctx);
  assert.equal(again.plan, 's-2vcpu-4gb');
  assert.equal(again.status, 'stopped');
});

test('a resize DigitalOcean refuses fails with its message', async (t) => {
  const { provider } = await setup(t);
  const doProvider = provider();
  const { server: created } = await doProvider.createServer(input('op-shrink', { plan: 's-2vcpu-4gb' }), ctx);
  await doProvider.waitUntilRunning(created.providerId, ctx);
  const err = await rejectsWith(doProvider.resize(created.providerId, 's-1vcpu-512mb-10gb', true, ctx));
  assert.ok(err instanceof ProviderError, `got ${String(err)}`);
  assert.equal(err.code, ErrorCodes.PROVIDER_REJECTED);
  assert.match(err.message, /disk/i);
});

test('catalogue: regions, plans with prices and images come from the API', async (t) => {
  const { provider } = await setup(t);
  const doProvider = provider();
  const [regions, plans, images] = await Promise.all([doProvider.listRegions(ctx), doProvider.listPlans(ctx), doProvider.listImages(ctx)]);
  assert.ok(regions.some((r) => r.id === 'nyc3' && r.available));
  const plan = plans.find((p) => p.id === 's-2vcpu-4gb');
  assert.ok(plan);
  assert.equal(plan.vcpus, 2);
  assert.equal(plan.memory_mb, 4096);
  assert.ok(plan.price_monthly > 0 && plan.price_hourly > 0);
  assert.equal(plan.currency, 'USD');
  assert.ok(plan.regions.includes('nyc3'));
  assert.ok(images.some((i) => i.id === doProvider.defaultImage));
});

test('there is no console on DigitalOcean: CONSOLE_UNSUPPORTED', async (t) => {
  const { provider } = await setup(t);
  const doProvider = provider();
  assert.equal(doProvider.supportsConsole, false);
  const err = await rejectsWith(doProvider.requestConsole('1', ctx));
  assert.equal((err as { code?: string }).code, ErrorCodes.CONSOLE_UNSUPPORTED);
});

test('an errored create action fails waitUntilRunning with PROVIDER_ACTION_FAILED', async (t) => {
  const { sandbox, provider } = await setup(t);
  const doProvider = provider();
  sandbox.digitalocean.configure({ failNextCreates: 1 });
  const { server: created } = await doProvider.createServer(input('op-create-fails'), ctx);
  const err = await rejectsWith(doProvider.waitUntilRunning(created.providerId, ctx));
  assert.ok(err instanceof ProviderError, `got ${String(err)}`);
  assert.equal(err.code, ErrorCodes.PROVIDER_ACTION_FAILED);
  assert.match(err.message, new RegExp(`droplet ${created.providerId}`));

  // A second adapter never saw the create answer, so it has to find the create action itself.
  const fresh = await rejectsWith(provider().waitUntilRunning(created.providerId, ctx));
  assert.ok(fresh instanceof ProviderError, `got ${String(fresh)}`);
  assert.equal(fresh.code, ErrorCodes.PROVIDER_ACTION_FAILED);
});

test('an errored power action fails with PROVIDER_ACTION_FAILED', async (t) => {
  const { sandbox, provider } = await setup(t);
  const doProvider = provider();
  const { server: created } = await doProvider.createServer(input('op-action-fails'), ctx);
  await doProvider.waitUntilRunning(created.providerId, ctx);
  sandbox.digitalocean.configure({ failNextActions: 1 });
  const err = await rejectsWith(doProvider.powerAction(created.providerId, 'power_off', ctx));
  assert.ok(err instanceof ProviderError, `got ${String(err)}`);
  assert.equal(err.code, ErrorCodes.PROVIDER_ACTION_FAILED);
  assert.match(err.message, /power_off/);
});

test('delete removes the droplet; getServer is then null and a second delete reports existed:false', async (t) => {
  const { provider } = await setup(t);
  const doProvider = provider();
  const { server: created } = await doProvider.createServer(input('op-delete'), ctx);
  assert.deepEqual(await doProvider.deleteServer(created.providerId, ctx), { existed: true });
  assert.equal(await doProvider.getServer(created.providerId, ctx), null);
  assert.deepEqual(await doProvider.deleteServer(created.providerId, ctx), { existed: false });
});

test('a burst of 503s on a GET is retried and succeeds; without retries the same burst fails', async (t) => {
  const { sandbox, provider } = await setup(t);
  const { server: created } = await provider().createServer(input('op-503'), ctx);
  const dropletPath = '^/v2/droplets/\\d+$';

  sandbox.faults.add({ provider: 'digitalocean', method: 'GET', path: dropletPath, kind: 'status', status: 503, count: 3 });
  const fetched = await provider().getServer(created.providerId, ctx);
  assert.equal(fetched?.providerId, created.providerId);

  sandbox.faults.add({ provider: 'digitalocean', method: 'GET', path: dropletPath, kind: 'status', status: 503, count: 1 });
  const err = await rejectsWith(provider({ http: { retries: 0 } }).getServer(created.providerId, ctx));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_UNAVAILABLE);
  assert.equal(err.retryable, true);
});

test('a 503 on the create POST is not retried: it fails retryable and no droplet is made', async (t) => {
  const { sandbox, provider } = await setup(t);
  const doProvider = provider();
  sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: '^/v2/droplets$', kind: 'status', status: 503, count: 1 });
  const err = await rejectsWith(doProvider.createServer(input('op-post-503'), ctx));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_UNAVAILABLE);
  assert.equal(err.retryable, true);
  assert.deepEqual(await doProvider.listServers(ctx), []);
});

test('aborting waitUntilRunning rejects promptly with AbortedError', async (t) => {
  const { provider } = await setup(t, { activeDelayMs: 600_000 });
  const doProvider = provider();
  const { server: created } = await doProvider.createServer(input('op-abort'), ctx);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const started = Date.now();
  const err = await rejectsWith(doProvider.waitUntilRunning(created.providerId, { signal: controller.signal }));
  assert.ok(err instanceof AbortedError, `got ${String(err)}`);
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 500, `took ${elapsed}ms`);
});

test('a wrong token fails with PROVIDER_UNAUTHORIZED and the token is not in the message', async (t) => {
  const { provider } = await setup(t);
  const wrongToken = 'wrong-token-abcdef123456';
  const err = await rejectsWith(provider({ token: wrongToken }).listServers(ctx));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_UNAUTHORIZED);
  assert.equal(err.retryable, false);
  assert.ok(!err.message.includes(wrongToken));
  assert.ok(!err.message.includes(TOKEN));
  assert.match(err.message, /^digitalocean: 401 unauthorized: /);
});

test('droplet statuses map onto the normalized ones, with locked meaning busy', () => {
  assert.equal(normalizeDropletStatus('new', false), 'provisioning');
  assert.equal(normalizeDropletStatus('active', false), 'running');
  assert.equal(normalizeDropletStatus('active', true), 'busy');
  assert.equal(normalizeDropletStatus('off', false), 'stopped');
  assert.equal(normalizeDropletStatus('archive', false), 'gone');
  assert.equal(normalizeDropletStatus('melting', false), 'unknown');
});

test('createProviders builds adapters for configured providers only', () => {
  assert.equal(createProviders({}).size, 0);
  const providers = createProviders({ digitalocean: { baseUrl: 'http://127.0.0.1:1/v2', token: 't' } });
  assert.deepEqual([...providers.keys()], ['digitalocean']);
  assert.equal(providers.get('digitalocean')?.name, 'digitalocean');
});
