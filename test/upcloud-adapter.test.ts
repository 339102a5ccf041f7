import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, ProviderError } from '../src/common/errors.js';
import { createProviders } from '../src/providers/registry.js';
import type { CreateServerInput } from '../src/common/provider.js';
import { UPCLOUD_DEFAULT_TEMPLATE, UpCloudProvider, type UpCloudProviderOptions } from '../src/providers/upcloud/adapter.js';
import { normalizeUpCloudState, parseUpCloudError } from '../src/providers/upcloud/wire.js';
import { startSandbox } from '../src/sandbox/server.js';
import type { UpCloudSettings } from '../src/sandbox/upcloud/simulator.js';
import { rejectsWith } from './helpers/rejects-with.js';

const TOKEN = 'sandbox-upcloud-token-0123456789';
const ctx = {};

/** A fresh sandbox per test, closed when the test ends, with state changes fast enough for tests. */
async function setup(t: TestContext, settings: UpCloudSettings = {}) {
  const sandbox = await startSandbox({
    token: TOKEN,
    upcloud: { createDelayMs: 150, stopDelayMs: 100, restartDelayMs: 100, modifyDelayMs: 50, errorDurationMs: 5_000, ...settings },
  });
  t.after(() => sandbox.close());
  const baseUrl = sandbox.baseUrls.upcloud as string;
  const provider = (overrides: Partial<UpCloudProviderOptions> = {}) =>
    new UpCloudProvider({
      baseUrl,
      token: TOKEN,
      pollIntervalMs: 25,
      waitTimeoutMs: 10_000,
      ...overrides,
      http: { baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5_000, ...overrides.http },
    });
  /** Reads the simulated API directly, to check what the adapter left behind. */
  const raw = async (path: string): Promise<any> => {
    const res = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return res.json();
  };
  return { sandbox, provider, raw };
}

function input(marker: string, overrides: Partial<CreateServerInput> = {}): CreateServerInput {
  return {
    name: `web-${marker}`,
    plan: '1xCPU-1GB',
    zone: 'fi-hel1',
    image: UPCLOUD_DEFAULT_TEMPLATE,
    tags: ['env:test'],
    marker,
    ...overrides,
  };
}

test('waitUntilRunning reports the build, and an adapter that never saw the create finds the template', async (t) => {
  // A build long enough that the first look reliably sees it, even on a busy machine.
  const { provider } = await setup(t, { createDelayMs: 400 });
  const upcloud = provider();
  const { server: created } = await upcloud.createServer(input('op-create'), ctx);
  const progress: string[] = [];
  await upcloud.waitUntilRunning(created.providerId, { onProgress: (m) => progress.push(m) });
  assert.ok(progress.some((m) => /to start: maintenance \(\d+% built\)$/.test(m)), progress.join(' | '));
  assert.ok(progress.at(-1)?.includes('is started at'), progress.join(' | '));

  // Another adapter, which never saw the create, finds the template through the boot disk.
  const fresh = await provider().getServer(created.providerId, ctx);
  assert.equal(fresh?.image, UPCLOUD_DEFAULT_TEMPLATE);
});

test('user tags travel as valid UpCloud labels and come back as the same tags', async (t) => {
  const { provider, raw } = await setup(t);
  const upcloud = provider();
  const tags = ['env:test', 'env:other', 'web', 'x', 'a:b:c', '_under', 'pe-tag-1', 'pe-op', 'k:'];
  const { server: created } = await upcloud.createServer(input('op-tags', { tags }), ctx);
  assert.deepEqual([...created.tags].sort(), [...tags, 'pe-op:op-tags'].sort());

  const labels = (await raw(`/server/${created.providerId}`)).server.labels.label as Array<{ key: string; value: string }>;
  assert.deepEqual(labels[0], { key: 'pe-op', value: 'op-tags' });
  for (const { key } of labels) assert.match(key, /^[a-zA-Z0-9][a-zA-Z0-9_-]{1,31}$/);
  assert.ok(labels.some((l) => l.key === 'env' && l.value === 'test'), 'a key:value tag is a plain label');

  const fetched = await upcloud.getServer(created.providerId, ctx);
  assert.deepEqual([...(fetched?.tags ?? [])].sort(), [...tags, 'pe-op:op-tags'].sort());
});

test('planCreate names every unknown zone, plan and image, and prices a good request in EUR', async (t) => {
  const { provider } = await setup(t);
  const upcloud = provider();

  const bad = await rejectsWith(upcloud.planCreate(input('p1', { zone: 'mars-1', plan: '99xCPU-1TB', image: 'windows-95' }), ctx));
  assert.ok(bad instanceof ProviderError);
  assert.equal(bad.code, ErrorCodes.PROVIDER_REJECTED);
  assert.match(bad.message, /zone 'mars-1'/);
  assert.match(bad.message, /plan '99xCPU-1TB'/);
  assert.match(bad.message, /image 'windows-95'/);

  const badImage = await rejectsWith(upcloud.planCreate(input('p2', { image: 'ubuntu-24-04-x64' }), ctx));
  assert.ok(badImage instanceof ProviderError);
  assert.doesNotMatch(badImage.message, /zone|plan '/);

  const plan = await upcloud.planCreate(input('p3'), ctx);
  assert.equal(plan.provider, 'upcloud');
  assert.equal(plan.plan, '1xCPU-1GB');
  assert.equal(plan.zone, 'fi-hel1');
  assert.equal(plan.image, UPCLOUD_DEFAULT_TEMPLATE);
  assert.equal(plan.price_monthly, 7);
  assert.ok(typeof plan.price_hourly === 'number' && Math.abs(plan.price_hourly - 7 / 672) < 0.0001);
});

test('a reboot of a stopped server starts it instead of restarting it, and says so', async (t) => {
  const { provider } = await setup(t);
  const upcloud = provider();
  const { server: created } = await upcloud.createServer(input('op-power'), ctx);
  await upcloud.waitUntilRunning(created.providerId, ctx);

  // UpCloud refuses a restart of a stopped server, so the adapter starts it.
  await upcloud.powerAction(created.providerId, 'power_off', ctx);
  const steps: string[] = [];
  const restarted = await upcloud.powerAction(created.providerId, 'reboot', { onProgress: (m) => steps.push(m) });
  assert.equal(restarted.status, 'running');
  assert.ok(steps.some((m) => m.includes('starting it instead of restarting')), steps.join(' | '));
});

test('delete of a started server stops it first, says so, and removes it with its storages', async (t) => {
  const { provider, raw } = await setup(t);
  const upcloud = provider();
  const { server: created } = await upcloud.createServer(input('op-delete'), ctx);
  await upcloud.waitUntilRunning(created.providerId, ctx);

  const steps: string[] = [];
  assert.deepEqual(await upcloud.deleteServer(created.providerId, { onProgress: (m) => steps.push(m) }), { existed: true });
  const stopIndex = steps.findIndex((m) => /stopping UpCloud server .* first: UpCloud deletes only stopped servers/.test(m));
  const deleteIndex = steps.findIndex((m) => m.startsWith('deleting UpCloud server'));
  assert.ok(stopIndex >= 0 && deleteIndex > stopIndex, steps.join(' | '));

  assert.equal(await upcloud.getServer(created.providerId, ctx), null);
  assert.deepEqual((await raw('/storage/private')).storages.storage, [], 'no disk is left behind');
  assert.deepEqual(await upcloud.deleteServer(created.providerId, ctx), { existed: false });
});

test('delete of a server still being built waits for it, then stops and deletes it', async (t) => {
  const { provider } = await setup(t);
  const upcloud = provider();
  const { server: created } = await upcloud.createServer(input('op-delete-early'), ctx);
  const steps: string[] = [];
  assert.deepEqual(await upcloud.deleteServer(created.providerId, { onProgress: (m) => steps.push(m) }), { existed: true });
  assert.ok(steps.some((m) => m.includes('is maintenance; waiting for it to settle')), steps.join(' | '));
  assert.equal(await upcloud.getServer(created.providerId, ctx), null);
});

test('a resize to an unknown plan is refused before the server is stopped', async (t) => {
  const { provider } = await setup(t);
  const upcloud = provider();
  const { server: created } = await upcloud.createServer(input('op-resize-bad'), ctx);
  await upcloud.waitUntilRunning(created.providerId, ctx);
  const err = await rejectsWith(upcloud.resize(created.providerId, '99xCPU-1TB', true, ctx));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_REJECTED);
  assert.match(err.message, /99xCPU-1TB/);
  assert.equal((await upcloud.getServer(created.providerId, ctx))?.status, 'running');
});

test('there is no console on UpCloud: CONSOLE_UNSUPPORTED with a clear message', async (t) => {
  const { provider } = await setup(t);
  const upcloud = provider();
  assert.equal(upcloud.supportsConsole, false);
  const err = await rejectsWith(upcloud.requestConsole());
  assert.equal((err as { code?: string }).code, ErrorCodes.CONSOLE_UNSUPPORTED);
  assert.match((err as Error).message, /UpCloud/);
});

test('catalogue: zones carry their country, and the default template is Ubuntu 24.04', async (t) => {
  const { provider } = await setup(t);
  const upcloud = provider();
  const [regions, images] = await Promise.all([upcloud.listRegions(ctx), upcloud.listImages(ctx)]);
  assert.equal(regions.find((r) => r.id === 'uk-lon1')?.country, 'GB');
  const ubuntu = images.find((i) => i.id === upcloud.defaultImage);
  assert.equal(ubuntu?.distribution, 'Ubuntu');
  assert.match(ubuntu?.name ?? '', /24\.04/);
});

test('HTTP Basic credentials work; a wrong password is PROVIDER_UNAUTHORIZED without the secret', async (t) => {
  const { provider } = await setup(t);
  const basic = provider({ token: undefined, username: 'sandbox', password: TOKEN });
  const { server: created } = await basic.createServer(input('op-basic'), ctx);
  assert.equal((await basic.getServer(created.providerId, ctx))?.providerId, created.providerId);

  const wrong = 'not-the-password-987654';
  const err = await rejectsWith(provider({ token: undefined, username: 'sandbox', password: wrong }).listRegions(ctx));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_UNAUTHORIZED);
  assert.ok(!err.message.includes(wrong));
  assert.ok(!err.message.includes(Buffer.from(`sandbox:${wrong}`).toString('base64')));
  assert.throws(() => provider({ token: undefined }), /needs a token, or a username and password/);
});

test('UpCloud errors keep its code and message, in the legacy and the problem+json shape', async (t) => {
  const { sandbox, provider } = await setup(t);
  const upcloud = provider();
  const legacy = await rejectsWith(upcloud.createServer(input('op-zone', { zone: 'mars-1' }), ctx));
  assert.ok(legacy instanceof ProviderError);
  assert.equal(legacy.code, ErrorCodes.PROVIDER_NOT_FOUND);
  assert.equal(legacy.providerCode, 'ZONE_NOT_FOUND');
  assert.equal(legacy.message, 'upcloud: 404 ZONE_NOT_FOUND: The zone mars-1 does not exist.');

  sandbox.simulator('upcloud')!.configure({ errorFormat: 'problem' });
  const problem = await rejectsWith(upcloud.createServer(input('op-plan', { plan: '99xCPU-1TB' }), ctx));
  assert.ok(problem instanceof ProviderError);
  assert.equal(problem.code, ErrorCodes.PROVIDER_REJECTED);
  assert.equal(problem.providerCode, 'PLAN_INVALID');
  assert.equal(problem.message, 'upcloud: 400 PLAN_INVALID: The plan 99xCPU-1TB does not exist.');
});

test('an injected 429 on a GET is sat out and retried', async (t) => {
  const { sandbox, provider } = await setup(t);
  sandbox.faults.add({ provider: 'upcloud', method: 'GET', path: '^/1.3/zone$', kind: 'status', status: 429, count: 2 });
  const regions = await provider().listRegions(ctx);
  assert.ok(regions.length > 0);
});

test('a server stuck in maintenance makes waitUntilRunning give up with PROVIDER_TIMEOUT', async (t) => {
  const { sandbox, provider } = await setup(t);
  sandbox.simulator('upcloud')!.configure({ stuckNextCreates: 1 });
  const upcloud = provider({ waitTimeoutMs: 300 });
  const { server: created } = await upcloud.createServer(input('op-stuck'), ctx);
  const err = await rejectsWith(upcloud.waitUntilRunning(created.providerId, ctx));
  assert.ok(err instanceof ProviderError, `got ${String(err)}`);
  assert.equal(err.code, ErrorCodes.PROVIDER_TIMEOUT);
  assert.equal(err.retryable, true);
});

test('server states map onto the normalized ones; only a build counts as provisioning', () => {
  assert.equal(normalizeUpCloudState('maintenance', '40'), 'provisioning');
  assert.equal(normalizeUpCloudState('maintenance'), 'busy');
  assert.equal(normalizeUpCloudState('started'), 'running');
  assert.equal(normalizeUpCloudState('stopped'), 'stopped');
  assert.equal(normalizeUpCloudState('error'), 'busy');
  assert.equal(normalizeUpCloudState('melting'), 'unknown');
});

test('both error shapes parse to UpCloud code and message', () => {
  assert.deepEqual(parseUpCloudError(400, { error: { error_code: 'SERVER_INVALID', error_message: 'The server UUID is invalid.' } }), {
    providerCode: 'SERVER_INVALID',
    message: 'The server UUID is invalid.',
  });
  assert.deepEqual(
    parseUpCloudError(404, {
      type: 'https://developers.upcloud.com/1.3/errors#ERROR_NETWORK_NOT_FOUND',
      title: 'Network not found.',
      status: 404,
      invalid_params: [{ name: 'network', reason: 'no such network' }],
    }),
    { providerCode: 'NETWORK_NOT_FOUND', message: 'Network not found. (network: no such network)' },
  );
  assert.deepEqual(parseUpCloudError(502, '<html>bad gateway</html>'), { message: '<html>bad gateway</html>' });
});

test('createProviders builds the UpCloud adapter from a token or from a user name and password', () => {
  const byToken = createProviders({ upcloud: { baseUrl: 'http://127.0.0.1:1/upcloud/1.3', token: 't' } });
  assert.equal(byToken.get('upcloud')?.name, 'upcloud');
  const byLogin = createProviders({ upcloud: { baseUrl: 'http://127.0.0.1:1/upcloud/1.3', username: 'u', password: 'p' } });
  assert.equal(byLogin.get('upcloud')?.defaultImage, UPCLOUD_DEFAULT_TEMPLATE);
  assert.equal(createProviders({}).has('upcloud'), false);
});
