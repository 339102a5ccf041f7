import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, ProviderError } from '../src/common/errors.js';
import { HetznerProvider, type HetznerProviderOptions } from '../src/providers/hetzner/adapter.js';
import { hetznerRateLimitWaitMs, normalizeHetznerStatus } from '../src/providers/hetzner/schema.js';
import { createProviders } from '../src/providers/registry.js';
import type { CreateServerInput } from '../src/common/provider.js';
import type { HetznerSettings } from '../src/sandbox/hetzner/simulator.js';
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

test('tags travel as labels, and waitUntilRunning reports the status it waits through', async (t) => {
  // Initializing long enough that the first look reliably sees it.
  const { provider, api } = await setup(t, { initializeDelayMs: 400 });
  const hetzner = provider();
  const { server: created } = await hetzner.createServer(input('op-create'), ctx);

  // Tags travel as labels: `k:v` as k=v, a bare tag with an empty value, the marker as pe-op=<id>.
  const raw = await api('GET', `/servers/${created.providerId}`);
  assert.deepEqual(raw.body.server.labels, { env: 'test', web: '', 'pe-op': 'op-create' });

  const progress: string[] = [];
  const running = await hetzner.waitUntilRunning(created.providerId, { onProgress: (m) => progress.push(m) });
  assert.ok(progress.includes(`waiting for server ${created.providerId} to be running: initializing`), progress.join(' | '));
  assert.equal(progress.at(-1), `server ${created.providerId} is running at ${running.ipv4}`);
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

test('a power action on a server still starting waits instead of failing with locked; a reboot of a stopped one starts it', async (t) => {
  const { provider } = await setup(t);
  const hetzner = provider();
  const { server: created } = await hetzner.createServer(input('op-early'), ctx);
  const off = await hetzner.powerAction(created.providerId, 'power_off', ctx);
  assert.equal(off.status, 'stopped');
  const rebootedFromOff = await hetzner.powerAction(created.providerId, 'reboot', ctx);
  assert.equal(rebootedFromOff.status, 'running', 'rebooting a stopped server starts it');
});

test('a type change keeps the disk, so the server can go back to the smaller type', async (t) => {
  const { provider, api } = await setup(t);
  const hetzner = provider();
  const { server: created } = await hetzner.createServer(input('op-resize'), ctx);
  await hetzner.waitUntilRunning(created.providerId, ctx);
  const resized = await hetzner.resize(created.providerId, 'cx33', true, ctx);
  assert.equal(resized.plan, 'cx33');
  assert.equal((await api('GET', `/servers/${created.providerId}`)).body.server.primary_disk_size, 40, 'the disk is kept');
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

test('catalogue: six locations, a type sold only in the EU ones and one Ubuntu for x86 and Arm', async (t) => {
  const { provider } = await setup(t);
  const hetzner = provider();
  const [regions, plans, images] = await Promise.all([hetzner.listRegions(ctx), hetzner.listPlans(ctx), hetzner.listImages(ctx)]);
  assert.equal(regions.length, 6);
  assert.deepEqual(plans.find((p) => p.id === 'cx23')?.regions, ['fsn1', 'nbg1', 'hel1']);
  assert.equal(plans.find((p) => p.id === 'cpx22')?.regions.length, 6);
  assert.equal(images.find((i) => i.id === hetzner.defaultImage)?.distribution, 'ubuntu');
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
  // A proxy's Retry-After may be an HTTP-date; one already past means now.
  assert.equal(hetznerRateLimitWaitMs(headers({ ...empty, 'retry-after': new Date(now + 9000).toUTCString() }), now), 9000);
  assert.equal(hetznerRateLimitWaitMs(headers({ ...empty, 'retry-after': new Date(now - 9000).toUTCString() }), now), 0);
  assert.equal(hetznerRateLimitWaitMs(headers({ 'ratelimit-reset': String(now / 1000 + 5) }), now), 5000);
  assert.equal(hetznerRateLimitWaitMs(headers({}), now), undefined);
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
