import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, ProviderError } from '../src/common/errors.js';
import {
  DigitalOceanProvider,
  normalizeDropletStatus,
  type DigitalOceanProviderOptions,
} from '../src/providers/digitalocean/adapter.js';
import { createProviders } from '../src/providers/registry.js';
import type { CreateServerInput } from '../src/common/provider.js';
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


test('waitUntilRunning reports the droplet status it waits through', async (t) => {
  // The droplet stays `new` long enough that the first look reliably sees it, even on a busy machine.
  const { provider } = await setup(t, { activeDelayMs: 400 });
  const doProvider = provider();
  const { server: created } = await doProvider.createServer(input('op-create'), ctx);
  const progress: string[] = [];
  await doProvider.waitUntilRunning(created.providerId, { onProgress: (m) => progress.push(m) });
  assert.ok(progress.includes(`waiting for droplet ${created.providerId} to become active: new`), progress.join(' | '));
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

test('there is no console on DigitalOcean: CONSOLE_UNSUPPORTED', async (t) => {
  const { provider } = await setup(t);
  const doProvider = provider();
  assert.equal(doProvider.supportsConsole, false);
  const err = await rejectsWith(doProvider.requestConsole('1', ctx));
  assert.equal((err as { code?: string }).code, ErrorCodes.CONSOLE_UNSUPPORTED);
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
