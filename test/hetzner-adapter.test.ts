import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { AbortedError, ErrorCodes, ProviderError } from '../src/core/errors.js';
import { HetznerProvider, type HetznerProviderOptions } from '../src/providers/hetzner.js';
import { hetznerRateLimitWaitMs, normalizeHetznerStatus } from '../src/providers/hetzner-schema.js';
import { createProviders } from '../src/providers/registry.js';
import type { CreateServerInput } from '../src/providers/types.js';
import type { HetznerSettings } from '../src/sandbox/hetzner.js';
import { startSandbox } from '../src/sandbox/server.js';
import { call } from './sandbox-helpers.js';
import { rejectsWith } from './helpers/rejects-with.js';

const TOKEN = 'sandbox-hetzner-token-0123456789';
const ctx = {};

/** A fresh sandbox per test, closed when the test ends, with state changes fast enough for tests. */
async function setup(t: TestContext, settings: HetznerSettings = {}) {
  const sandbox = await startSandbox({
    token: TOKEN,
    hetzner: { initializeDelayMs: 100, startDelayMs: 50, actionDelayMs: 100, deleteDelayMs: 50, rateLimit: false, ...settings },
  });
  t.after(() => sandbox.close());
  const baseUrl = sandbox.baseUrls.hetzner;
  assert.ok(baseUrl, 'the sandbox serves hetzner');
  const provider = (overrides: Partial<HetznerProviderOptions> = {}) =>
    new HetznerProvider({
      baseUrl,
      token: TOKEN,
      pollIntervalMs: 25,
      waitTimeoutMs: 10_000,
      ...overrides,
      http: { baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5_000, ...overrides.http },
    });
  const api = async (method: string, path: string, body?: unknown) => call(`${baseUrl}${path}`, method, TOKEN, { body });
  const configure = (patch: Record<string, unknown>) => sandbox.simulator('hetzner')?.configure(patch);
  return { sandbox, provider, api, configure };
}

function input(marker: string, overrides: Partial<CreateServerInput> = {}): CreateServerInput {
  return {
    name: `web-${marker}`,
    plan: 'cx23',
    zone: 'fsn1',
    image: 'ubuntu-24.04',
    tags: ['env:test', 'web'],
    marker,
    ...overrides,
  };
}

test('create, then waitUntilRunning ends with a running server that has a public IPv4', async (t) => {
  // Initializing long enough that the first look reliably sees it.
  const { provider, api } = await setup(t, { initializeDelayMs: 400 });
  const hetzner = provider();
  const { server: created } = await hetzner.createServer(input('op-create'), ctx);
  assert.equal(created.provider, 'hetzner');
  assert.match(created.providerId, /^\d+$/);
  assert.equal(created.status, 'provisioning');
  assert.match(created.ipv4 ?? '', /^\d+\.\d+\.\d+\.\d+$/, 'Hetzner assigns the address at create');
  assert.equal(created.plan, 'cx23');
  assert.equal(created.zone, 'fsn1');
  assert.equal(created.image, 'ubuntu-24.04');
  assert.deepEqual([...created.tags].sort(), ['env:test', 'pe-op:op-create', 'web']);

  // Tags travel as labels: `k:v` as k=v, a bare tag with an empty value, the marker as pe-op=<id>.
  const raw = await api('GET', `/servers/${created.providerId}`);
  assert.deepEqual(raw.body.server.labels, { env: 'test', web: '', 'pe-op': 'op-create' });

  const progress: string[] = [];
  const running = await hetzner.waitUntilRunning(created.providerId, { onProgress: (m) => progress.push(m) });
  assert.equal(running.status, 'running');
  assert.equal(running.ipv4, created.ipv4);
  assert.equal(running.providerStatus, 'running');
  assert.equal(created.providerStatus, 'initializing');
  assert.equal(running.providerId, created.providerId);
  assert.ok(progress.includes(`waiting for server ${created.providerId} to be running: initializing`), progress.join(' | '));
  assert.equal(progress.at(-1), `server ${created.providerId} is running at ${running.ipv4}`);
});

test('findByMarker finds the server made with that marker and nothing for another marker', async (t) => {
  const { provider } = await setup(t);
  const hetzner = provider();
  const { server: mine } = await hetzner.createServer(input('op-mine'), ctx);
  await hetzner.createServer(input('op-other'), ctx);
  const found = await hetzner.findByMarker('op-mine', ctx);
  assert.equal(found?.providerId, mine.providerId);
  assert.ok(found?.tags.includes('pe-op:op-mine'));
  assert.equal(await hetzner.findByMarker('op-nobody', ctx), null);
});

test('planCreate names every bad location, server type, image and tag, and prices a good request', async (t) => {
  const { provider } = await setup(t);
  const hetzner = provider();

  const badType = await rejectsWith(hetzner.planCreate(input('p1', { plan: 'cx99' }), ctx));
  assert.ok(badType instanceof ProviderError);
  assert.equal(badType.code, ErrorCodes.PROVIDER_REJECTED);
  assert.match(badType.message, /server type 'cx99'/);

  const all = await rejectsWith(
    hetzner.planCreate(input('p2', { zone: 'mars1', plan: 'cx99', image: 'windows-95', tags: ['a:b:c'] }), ctx),
  );
  assert.ok(all instanceof ProviderError);
  for (const named of [/location 'mars1'/, /server type 'cx99'/, /image 'windows-95'/, /tag 'a:b:c'/]) {
    assert.match(all.message, named);
  }

  const notOffered = await rejectsWith(hetzner.planCreate(input('p3', { zone: 'ash' }), ctx));
  assert.ok(notOffered instanceof ProviderError);
  assert.match(notOffered.message, /server type 'cx23' is not offered in location 'ash'/);

  const plan = await hetzner.planCreate(input('p4'), ctx);
  assert.equal(plan.provider, 'hetzner');
  assert.equal(plan.plan, 'cx23');
  assert.equal(plan.zone, 'fsn1');
  // The catalogue's cx23 is 3.49 EUR net a month in the EU; the plan shows the gross price.
  assert.equal(plan.price_monthly, 4.1531);
  assert.ok(typeof plan.price_hourly === 'number' && plan.price_hourly > 0 && plan.price_hourly < plan.price_monthly);

  const eu = await hetzner.planCreate(input('p5', { plan: 'cpx22' }), ctx);
  const us = await hetzner.planCreate(input('p6', { plan: 'cpx22', zone: 'ash' }), ctx);
  assert.ok((us.price_monthly ?? 0) > (eu.price_monthly ?? 0), 'the price is the one for the location');

  const arm = await hetzner.planCreate(input('p7', { plan: 'cax11' }), ctx);
  assert.equal(arm.image, 'ubuntu-24.04', 'an Arm type finds the Arm build of the image');
});

test('a tag Hetzner cannot hold as a label is refused before anything is created', async (t) => {
  const { provider } = await setup(t);
  const hetzner = provider();
  const err = await rejectsWith(hetzner.createServer(input('op-badtag', { tags: ['a:b:c', 'env:x', 'env:y'] }), ctx));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_REJECTED);
  assert.match(err.message, /tag 'a:b:c'/);
  assert.match(err.message, /'env:x' and 'env:y'/);
  assert.deepEqual(await hetzner.listServers(ctx), []);
});

test('listServers follows pagination past the first page', async (t) => {
  const { provider } = await setup(t);
  const hetzner = provider({ listPageSize: 10 });
  const created = new Set<string>();
  for (let i = 0; i < 25; i++) {
    created.add((await hetzner.createServer(input(`op-list-${i}`, { name: `list-${i}` }), ctx)).server.providerId);
  }
  const ids = (await hetzner.listServers(ctx)).map((s) => s.providerId);
  assert.equal(ids.length, 25);
  assert.equal(new Set(ids).size, 25, 'no server is listed twice');
  assert.deepEqual(new Set(ids), created);
});

test('power_off, power_on and reboot wait for their action and return the refreshed server', async (t) => {
  const { provider } = await setup(t);
  const hetzner = provider();
  const { server: created } = await hetzner.createServer(input('op-power'), ctx);
  await hetzner.waitUntilRunning(created.providerId, ctx);

  const off = await hetzner.powerAction(created.providerId, 'power_off', ctx);
  assert.equal(off.status, 'stopped');
  const stillOff = await hetzner.powerAction(created.providerId, 'power_off', ctx);
  assert.equal(stillOff.status, 'stopped');
  const on = await hetzner.powerAction(created.providerId, 'power_on', ctx);
  assert.equal(on.status, 'running');
  const rebooted = await hetzner.powerAction(created.providerId, 'reboot', ctx);
  assert.equal(rebooted.status, 'running');
  assert.equal(rebooted.ipv4, on.ipv4);

  await hetzner.powerAction(created.providerId, 'power_off', ctx);
  const rebootedFromOff = await hetzner.powerAction(created.providerId, 'reboot', ctx);
  assert.equal(rebootedFromOff.status, 'running', 'rebooting a stopped server starts it');
});

test('a power action on a server that is still starting waits for it instead of failing with locked', async (t) => {
  const { provider } = await setup(t);
  const hetzner = provider();
  const { server: created } = await hetzner.createServer(input('op-early'), ctx);
  const off = await hetzner.powerAction(created.providerId, 'power_off', ctx);
  assert.equal(off.status, 'stopped');
});

test('resize powers a running server off, changes its type and powers it back on, reporting each step', async (t) => {
  const { provider, api } = await setup(t);
  const hetzner = provider();
  const { server: created } = await hetzner.createServer(input('op-resize'), ctx);
  await hetzner.waitUntilRunning(created.providerId, ctx);
  const steps: string[] = [];
  const resized = await hetzner.resize(created.providerId, 'cx33', true, { onProgress: (m) => steps.push(m) });
  assert.equal(resized.plan, 'cx33');
  assert.equal(resized.status, 'running');
  const order = ['powering off', 'changing the type', 'back on'].map((words) => steps.findIndex((m) => m.includes(words)));
  assert.ok(order.every((i) => i >= 0), `steps: ${steps.join(' | ')}`);
  assert.deepEqual([...order].sort((a, b) => a - b), order, 'off, then change_type, then on');
  assert.equal((await api('GET', `/servers/${created.providerId}`)).body.server.primary_disk_size, 40, 'the disk is kept');

  // A rerun that finds the type already changed only restores the power state.
  await hetzner.powerAction(created.providerId, 'power_off', ctx);
  const rerunSteps: string[] = [];
  const again = await hetzner.resize(created.providerId, 'cx33', false, { onProgress: (m) => rerunSteps.push(m) });
  assert.equal(again.plan, 'cx33');
  assert.equal(again.status, 'stopped');
  assert.deepEqual(rerunSteps, []);
  const started = await hetzner.resize(created.providerId, 'cx33', true, ctx);
  assert.equal(started.status, 'running');

  // Because the disk was kept, the server can go back to the smaller type.
  const back = await hetzner.resize(created.providerId, 'cx23', true, ctx);
  assert.equal(back.plan, 'cx23');
});

test('a type change Hetzner refuses fails with its message', async (t) => {
  const { provider } = await setup(t);
  const hetzner = provider();
  const { server: created } = await hetzner.createServer(input('op-arm'), ctx);
  await hetzner.waitUntilRunning(created.providerId, ctx);
  const err = await rejectsWith(hetzner.resize(created.providerId, 'cax11', true, ctx));
  assert.ok(err instanceof ProviderError, `got ${String(err)}`);
  assert.equal(err.code, ErrorCodes.PROVIDER_REJECTED);
  assert.match(err.message, /^hetzner: 422 invalid_server_type: .*arm/);
});

test('request_console hands out a VNC websocket URL and password', async (t) => {
  const { provider } = await setup(t);
  const hetzner = provider();
  assert.equal(hetzner.supportsConsole, true);
  const { server: created } = await hetzner.createServer(input('op-console'), ctx);
  await hetzner.waitUntilRunning(created.providerId, ctx);
  const access = await hetzner.requestConsole(created.providerId, ctx);
  assert.equal(access.type, 'vnc-websocket');
  assert.match(access.url, /^wss:\/\//);
  assert.match(access.password ?? '', /^[A-Za-z0-9]{32}$/);
  const missing = await rejectsWith(hetzner.requestConsole('123', ctx));
  assert.equal((missing as ProviderError).code, ErrorCodes.PROVIDER_NOT_FOUND);

  // While its create actions hold the server Hetzner answers `locked`; the adapter waits that out.
  const { server: booting } = await hetzner.createServer(input('op-console-early'), ctx);
  const steps: string[] = [];
  const early = await hetzner.requestConsole(booting.providerId, { onProgress: (m) => steps.push(m) });
  assert.match(early.url, /^wss:\/\//);
  assert.ok(steps.includes(`server ${booting.providerId} is locked by another action, waiting to request_console`), steps.join(' | '));
});

test('catalogue: locations, server types with EUR prices and system images come from the API', async (t) => {
  const { provider } = await setup(t);
  const hetzner = provider();
  const [regions, plans, images] = await Promise.all([hetzner.listRegions(ctx), hetzner.listPlans(ctx), hetzner.listImages(ctx)]);
  const fsn1 = regions.find((r) => r.id === 'fsn1');
  assert.deepEqual(fsn1, { provider: 'hetzner', id: 'fsn1', name: 'Falkenstein', country: 'DE', available: true });
  assert.equal(regions.length, 6);

  const cx23 = plans.find((p) => p.id === 'cx23');
  assert.ok(cx23);
  assert.equal(cx23.vcpus, 2);
  assert.equal(cx23.memory_mb, 4096);
  assert.equal(cx23.disk_gb, 40);
  assert.equal(cx23.currency, 'EUR');
  assert.equal(cx23.price_monthly, 4.1531);
  assert.ok(cx23.price_hourly > 0);
  assert.deepEqual(cx23.regions, ['fsn1', 'nbg1', 'hel1']);
  const cpx22 = plans.find((p) => p.id === 'cpx22');
  assert.equal(cpx22?.regions.length, 6);

  assert.equal(images.filter((i) => i.id === hetzner.defaultImage).length, 1, 'x86 and Arm builds are one image');
  assert.equal(images.find((i) => i.id === hetzner.defaultImage)?.distribution, 'ubuntu');
});

test('an errored create action fails waitUntilRunning with PROVIDER_ACTION_FAILED and Hetzner\'s message', async (t) => {
  const { provider, configure } = await setup(t);
  const hetzner = provider();
  configure({ failNextCreates: 1 });
  const { server: created } = await hetzner.createServer(input('op-create-fails'), ctx);
  const err = await rejectsWith(hetzner.waitUntilRunning(created.providerId, ctx));
  assert.ok(err instanceof ProviderError, `got ${String(err)}`);
  assert.equal(err.code, ErrorCodes.PROVIDER_ACTION_FAILED);
  assert.match(err.message, new RegExp(`create_server action \\d+ for server ${created.providerId} failed: Action failed \\(action_failed\\)`));

  // A second adapter never saw the create answer, so it has to find the create actions itself.
  const fresh = await rejectsWith(provider().waitUntilRunning(created.providerId, ctx));
  assert.ok(fresh instanceof ProviderError, `got ${String(fresh)}`);
  assert.equal(fresh.code, ErrorCodes.PROVIDER_ACTION_FAILED);
});

test('an errored power action fails with PROVIDER_ACTION_FAILED', async (t) => {
  const { provider, configure } = await setup(t);
  const hetzner = provider();
  const { server: created } = await hetzner.createServer(input('op-action-fails'), ctx);
  await hetzner.waitUntilRunning(created.providerId, ctx);
  configure({ failNextActions: 1 });
  const err = await rejectsWith(hetzner.powerAction(created.providerId, 'power_off', ctx));
  assert.ok(err instanceof ProviderError, `got ${String(err)}`);
  assert.equal(err.code, ErrorCodes.PROVIDER_ACTION_FAILED);
  assert.match(err.message, /stop_server action \d+ on server \d+ failed: Action failed/);
});

test('a duplicate name fails with Hetzner\'s uniqueness_error message', async (t) => {
  const { provider } = await setup(t);
  const hetzner = provider();
  await hetzner.createServer(input('op-first', { name: 'same-name' }), ctx);
  const err = await rejectsWith(hetzner.createServer(input('op-second', { name: 'same-name' }), ctx));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_CONFLICT);
  assert.equal(err.message, 'hetzner: 409 uniqueness_error: server name is already used');
});

test('delete waits until the server is gone; getServer is then null and a second delete reports existed:false', async (t) => {
  const { provider } = await setup(t);
  const hetzner = provider();
  const { server: created } = await hetzner.createServer(input('op-delete'), ctx);
  await hetzner.waitUntilRunning(created.providerId, ctx);
  const progress: string[] = [];
  assert.deepEqual(await hetzner.deleteServer(created.providerId, { onProgress: (m) => progress.push(m) }), { existed: true });
  assert.ok(progress.includes(`server ${created.providerId} is being deleted`), progress.join(' | '));
  assert.equal(await hetzner.getServer(created.providerId, ctx), null);
  assert.deepEqual(await hetzner.deleteServer(created.providerId, ctx), { existed: false });

  // A server still being created can be deleted too, as a cancelled create needs.
  const { server: young } = await hetzner.createServer(input('op-young'), ctx);
  assert.deepEqual(await hetzner.deleteServer(young.providerId, ctx), { existed: true });
  assert.equal(await hetzner.findByMarker('op-young', ctx), null);
});

test('a burst of 503s on a GET is retried and succeeds; without retries the same burst fails', async (t) => {
  const { sandbox, provider } = await setup(t);
  const { server: created } = await provider().createServer(input('op-503'), ctx);
  const serverPath = '^/v1/servers/\\d+$';

  sandbox.faults.add({ provider: 'hetzner', method: 'GET', path: serverPath, kind: 'status', status: 503, count: 3 });
  const fetched = await provider().getServer(created.providerId, ctx);
  assert.equal(fetched?.providerId, created.providerId);
  assert.equal(sandbox.faults.list()[0]?.matched, 3, 'all three 503s were met and retried');

  sandbox.faults.add({ provider: 'hetzner', method: 'GET', path: serverPath, kind: 'status', status: 503, count: 1 });
  const err = await rejectsWith(provider({ http: { retries: 0 } }).getServer(created.providerId, ctx));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_UNAVAILABLE);
  assert.equal(err.retryable, true);
  assert.match(err.message, /^hetzner: 503 unavailable: /);
});

test('a 503 on the create POST is not retried: it fails retryable and no server is made', async (t) => {
  const { sandbox, provider } = await setup(t);
  const hetzner = provider();
  sandbox.faults.add({ provider: 'hetzner', method: 'POST', path: '^/v1/servers$', kind: 'status', status: 503, count: 1 });
  const err = await rejectsWith(hetzner.createServer(input('op-post-503'), ctx));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_UNAVAILABLE);
  assert.equal(err.retryable, true);
  assert.deepEqual(await hetzner.listServers(ctx), []);
});

test('a 429 from the token bucket is waited out until RateLimit-Reset and the request succeeds', async (t) => {
  const { provider } = await setup(t, { rateLimit: { capacity: 1, refillPerSecond: 5 } });
  const hetzner = provider();
  const started = Date.now();
  for (let i = 0; i < 3; i++) assert.deepEqual(await hetzner.listServers(ctx), []);
  assert.ok(Date.now() - started < 5_000);

  // The same burst without retries shows the 429s that were waited out above.
  const impatient = provider({ http: { retries: 0 } });
  await impatient.listServers(ctx).catch(() => undefined);
  const err = await rejectsWith(impatient.listServers(ctx));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_RATE_LIMITED);
  assert.match(err.message, /^hetzner: 429 rate_limit_exceeded: /);
});

test('an empty bucket whose full refill is far off costs one token-time, not the time until full', async (t) => {
  // 120 tokens refilling 2/s: empty, the bucket is full a minute later, beyond the client's
  // 60 s patience, but the next request fits after half a second.
  const { provider, api } = await setup(t, { rateLimit: { capacity: 120, refillPerSecond: 2 } });
  let refused: Awaited<ReturnType<typeof api>> | undefined;
  for (let i = 0; i < 200 && refused === undefined; i++) {
    const res = await api('GET', '/locations');
    if (res.status === 429) refused = res;
  }
  assert.ok(refused, 'the bucket ran dry');
  assert.ok(Number(refused.headers.get('ratelimit-reset')) * 1000 - Date.now() > 55_000, 'full again only in about a minute');

  const impatient = await rejectsWith(provider({ http: { retries: 0 } }).listServers(ctx));
  assert.ok(impatient instanceof ProviderError);
  assert.equal(impatient.code, ErrorCodes.PROVIDER_RATE_LIMITED);
  assert.equal(impatient.retryAfterSeconds, 1, 'the engine is told to wait for one token, not a minute');

  const started = Date.now();
  assert.deepEqual(await provider().listServers(ctx), []);
  assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started}ms`);
});

test('Hetzner rate-limit headers read as the wait for the next token', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const headers = (h: Record<string, string>) => new Headers(h);
  const empty = { 'ratelimit-limit': '3600', 'ratelimit-remaining': '0', 'ratelimit-reset': String(now / 1000 + 3600) };
  assert.equal(hetznerRateLimitWaitMs(headers(empty), now), 1000);
  assert.equal(hetznerRateLimitWaitMs(headers({ ...empty, 'retry-after': '7' }), now), 7000);
  assert.equal(hetznerRateLimitWaitMs(headers({ 'ratelimit-reset': String(now / 1000 + 5) }), now), 5000);
  assert.equal(hetznerRateLimitWaitMs(headers({}), now), undefined);
});

test('aborting waitUntilRunning rejects promptly with AbortedError', async (t) => {
  const { provider } = await setup(t, { initializeDelayMs: 600_000 });
  const hetzner = provider();
  const { server: created } = await hetzner.createServer(input('op-abort'), ctx);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const started = Date.now();
  const err = await rejectsWith(hetzner.waitUntilRunning(created.providerId, { signal: controller.signal }));
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
  assert.match(err.message, /^hetzner: 401 unauthorized: /);
});

test('Hetzner statuses map onto the normalized ones', () => {
  assert.equal(normalizeHetznerStatus('initializing', true), 'provisioning');
  assert.equal(normalizeHetznerStatus('starting', true, true), 'provisioning');
  assert.equal(normalizeHetznerStatus('starting', true), 'starting');
  assert.equal(normalizeHetznerStatus('running', false), 'running');
  assert.equal(normalizeHetznerStatus('running', true), 'busy');
  assert.equal(normalizeHetznerStatus('stopping', true), 'stopping');
  assert.equal(normalizeHetznerStatus('off', false), 'stopped');
  assert.equal(normalizeHetznerStatus('migrating', true), 'busy');
  assert.equal(normalizeHetznerStatus('rebuilding', true), 'busy');
  assert.equal(normalizeHetznerStatus('deleting', true), 'busy');
  assert.equal(normalizeHetznerStatus('unknown', false), 'unknown');
  assert.equal(normalizeHetznerStatus('melting', false), 'unknown');
});

test('createProviders builds the Hetzner adapter when it is configured', () => {
  const providers = createProviders({ hetzner: { baseUrl: 'http://127.0.0.1:1/hetzner/v1', token: 't' } });
  assert.deepEqual([...providers.keys()], ['hetzner']);
  assert.equal(providers.get('hetzner')?.name, 'hetzner');
  assert.equal(providers.get('hetzner')?.defaultImage, 'ubuntu-24.04');
});
