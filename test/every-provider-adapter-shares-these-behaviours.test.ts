/**
 * What every provider adapter does alike, proved once for all four against one sandbox that
 * serves them all: create and wait, retries of a 503 on a read and none on the create, a wrong
 * credential kept out of the message, an abort during a wait, the catalogue, markers,
 * pagination, power, resize, delete and a create the provider fails. Each scenario reads what
 * differs from a small table per provider; what only one provider does stays in its own
 * adapter test file.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { AbortedError, ErrorCodes, ProviderError } from '../src/common/errors.js';
import { DigitalOceanProvider } from '../src/providers/digitalocean/adapter.js';
import { HetznerProvider } from '../src/providers/hetzner/adapter.js';
import type { CatalogPlan, CatalogRegion, CreateServerInput, Provider, ProviderName } from '../src/common/provider.js';
import { UPCLOUD_DEFAULT_TEMPLATE, UpCloudProvider } from '../src/providers/upcloud/adapter.js';
import { VultrProvider } from '../src/providers/vultr/adapter.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { rejectsWith } from './helpers/rejects-with.js';

const TOKEN = 'sandbox-every-provider-token-0123456789';
const ctx = {};

/** What a scenario may change about an adapter; everything else is the fast test default. */
interface AdapterOverrides {
  token?: string;
  listPageSize?: number;
  http?: { retries?: number };
}

/** One provider as the shared scenarios need it. */
interface ProviderCase {
  name: ProviderName;
  adapter(baseUrl: string, overrides: AdapterOverrides): Provider;
  /** A create request the provider accepts. */
  input(marker: string): CreateServerInput;
  /** Fault paths (after the provider's mount) of one server's GET and of the create POST. */
  serverPath: string;
  createPath: string;
  /** Simulator setting that keeps the next creates provisioning for ten minutes. */
  slowCreates: Record<string, number>;
  /** Simulator setting that makes the next create end in the provider's failed state. */
  failNextCreate: Record<string, number>;
  /** What the failed create's error names. */
  createFailed(providerId: string): RegExp;
  /** The form of the provider's server ids, and its own status word right after a create and once running (UpCloud reports none). */
  idPattern: RegExp;
  providerStatus?: { created: string; running: string };
  /** Hetzner and UpCloud hand out the public address in the create answer already. */
  addressAtCreate: boolean;
  /**
   * A bigger plan the create request's server can move to, the words of the resize's progress
   * steps in the order they come, which of them is the plan change itself, every step a rerun
   * that finds the plan changed and the server stopped reports, and what its start reports.
   */
  resize: { to: string; steps: [string, string, string]; change: string; rerunSays: string[]; startSays: string };
  /** A region and a plan sold there, as the catalogue lists them. */
  catalogue: { region: CatalogRegion; plan: Pick<CatalogPlan, 'id' | 'vcpus' | 'memory_mb' | 'disk_gb' | 'currency' | 'price_monthly'> };
  /** How the provider's own 503 and 401 answers read once they reach the engine. */
  unavailable: { message: RegExp; providerCode?: string };
  unauthorized: RegExp;
}

const fast = { baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5_000 };
const waits = { pollIntervalMs: 25, waitTimeoutMs: 10_000 };

const PROVIDERS: ProviderCase[] = [
  {
    name: 'digitalocean',
    idPattern: /^\d+$/,
    providerStatus: { created: 'new', running: 'active' },
    adapter: (baseUrl, o) => new DigitalOceanProvider({ baseUrl, token: TOKEN, ...waits, ...o, http: { ...fast, ...o.http } }),
    input: (marker) => ({ name: `web-${marker}`, plan: 's-1vcpu-1gb', zone: 'nyc3', image: 'ubuntu-24-04-x64', tags: ['env:test'], marker }),
    serverPath: '^/v2/droplets/\\d+$',
    createPath: '^/v2/droplets$',
    slowCreates: { activeDelayMs: 600_000 },
    failNextCreate: { failNextCreates: 1 },
    createFailed: (id) => new RegExp(`droplet ${id}`),
    addressAtCreate: false,
    resize: { to: 's-2vcpu-4gb', steps: ['powering off', 'resizing', 'back on'], change: 'resizing', rerunSays: ['is on s-2vcpu-4gb'], startSays: 'back on' },
    catalogue: {
      region: { provider: 'digitalocean', id: 'nyc3', name: 'New York 3', available: true },
      plan: { id: 's-2vcpu-4gb', vcpus: 2, memory_mb: 4096, disk_gb: 80, currency: 'USD', price_monthly: 24 },
    },
    unavailable: { message: /^digitalocean: 503 service_unavailable: / },
    unauthorized: /^digitalocean: 401 unauthorized: /,
  },
  {
    name: 'hetzner',
    idPattern: /^\d+$/,
    providerStatus: { created: 'initializing', running: 'running' },
    adapter: (baseUrl, o) => new HetznerProvider({ baseUrl, token: TOKEN, ...waits, ...o, http: { ...fast, ...o.http } }),
    input: (marker) => ({ name: `web-${marker}`, plan: 'cx23', zone: 'fsn1', image: 'ubuntu-24.04', tags: ['env:test', 'web'], marker }),
    serverPath: '^/v1/servers/\\d+$',
    createPath: '^/v1/servers$',
    slowCreates: { initializeDelayMs: 600_000 },
    failNextCreate: { failNextCreates: 1 },
    createFailed: (id) => new RegExp(`create_server action \\d+ for server ${id} failed: Action failed \\(action_failed\\)`),
    addressAtCreate: true,
    resize: { to: 'cx33', steps: ['powering off', 'changing the type', 'back on'], change: 'changing the type', rerunSays: [], startSays: 'back on' },
    catalogue: {
      region: { provider: 'hetzner', id: 'fsn1', name: 'Falkenstein', country: 'DE', available: true },
      // 3.49 EUR net a month in the EU; the catalogue shows the gross price.
      plan: { id: 'cx23', vcpus: 2, memory_mb: 4096, disk_gb: 40, currency: 'EUR', price_monthly: 4.1531 },
    },
    unavailable: { message: /^hetzner: 503 unavailable: / },
    unauthorized: /^hetzner: 401 unauthorized: /,
  },
  {
    name: 'vultr',
    idPattern: /^[0-9a-f-]{36}$/,
    providerStatus: { created: 'pending', running: 'active' },
    adapter: (baseUrl, o) => new VultrProvider({ baseUrl, token: TOKEN, ...waits, ...o, http: { ...fast, ...o.http } }),
    input: (marker) => ({ name: `web-${marker}`, plan: 'vc2-1c-1gb', zone: 'ewr', image: '2284', tags: ['env:test'], marker }),
    serverPath: '^/v2/instances/[0-9a-f-]+$',
    createPath: '^/v2/instances$',
    slowCreates: { activeDelayMs: 600_000 },
    // Vultr has no failed create action: a create it suspends never comes up.
    failNextCreate: { suspendNextCreates: 1 },
    createFailed: (id) => new RegExp(`${id}.*suspended|suspended.*${id}`),
    addressAtCreate: false,
    // Vultr changes the plan of a running instance without powering it off.
    resize: {
      to: 'vc2-2c-4gb',
      steps: ['changing the plan', ': resizing/', 'is on plan'],
      change: 'changing the plan',
      rerunSays: ['is on plan vc2-2c-4gb'],
      startSays: 'is on plan vc2-2c-4gb; starting it again',
    },
    catalogue: {
      region: { provider: 'vultr', id: 'ewr', name: 'New Jersey', country: 'US', available: true },
      plan: { id: 'vc2-2c-4gb', vcpus: 2, memory_mb: 4096, disk_gb: 80, currency: 'USD', price_monthly: 20 },
    },
    unavailable: { message: /^vultr: 503: Service temporarily unavailable\.$/ },
    unauthorized: /^vultr: 401: Invalid API token\.$/,
  },
  {
    name: 'upcloud',
    idPattern: /^00[0-9a-f]{6}-/,
    adapter: (baseUrl, o) => new UpCloudProvider({ baseUrl, token: TOKEN, ...waits, ...o, http: { ...fast, ...o.http } }),
    input: (marker) => ({ name: `web-${marker}`, plan: '1xCPU-1GB', zone: 'fi-hel1', image: UPCLOUD_DEFAULT_TEMPLATE, tags: ['env:test'], marker }),
    serverPath: '^/1.3/server/[^/]+$',
    createPath: '^/1.3/server$',
    slowCreates: { createDelayMs: 600_000 },
    failNextCreate: { failNextCreates: 1 },
    createFailed: (id) => new RegExp(`server ${id} went into state error`),
    addressAtCreate: true,
    resize: {
      to: '2xCPU-4GB',
      steps: ['stopping', 'changing the plan', 'starting'],
      change: 'changing the plan',
      rerunSays: [],
      startSays: 'again after the resize',
    },
    catalogue: {
      region: { provider: 'upcloud', id: 'fi-hel1', name: 'Helsinki #1', country: 'FI', available: true },
      plan: { id: '2xCPU-4GB', vcpus: 2, memory_mb: 4096, disk_gb: 80, currency: 'EUR', price_monthly: 26 },
    },
    unavailable: { message: /^upcloud: 503 SERVICE_ERROR: /, providerCode: 'SERVICE_ERROR' },
    unauthorized: /^upcloud: 401 AUTHENTICATION_FAILED: /,
  },
];

/** One sandbox serves all four providers; the scenarios use distinct markers, so they do not meet. */
let sandbox: Sandbox;
before(async () => {
  sandbox = await startSandbox({
    token: TOKEN,
    digitalocean: { activeDelayMs: 150, actionDelayMs: 100, rateLimit: false },
    hetzner: { initializeDelayMs: 100, startDelayMs: 50, actionDelayMs: 100, deleteDelayMs: 50, rateLimit: false },
    vultr: { activeDelayMs: 150, bootDelayMs: 100, actionDelayMs: 100, resizeDelayMs: 150, rateLimit: false },
    upcloud: { createDelayMs: 150, stopDelayMs: 100, restartDelayMs: 100, modifyDelayMs: 50, errorDurationMs: 5_000 },
    ssh: false,
  });
});
after(() => sandbox.close());

function adapterFor(p: ProviderCase, overrides: AdapterOverrides = {}): Provider {
  const baseUrl = sandbox.baseUrls[p.name];
  assert.ok(baseUrl, `the sandbox serves ${p.name}`);
  return p.adapter(baseUrl, overrides);
}

/** Adds a fault for this provider only, removed when the test ends; returns a reader of how often it was met. */
function addFault(t: TestContext, p: ProviderCase, rule: { method: string; path: string; status: number; count: number }) {
  const id = sandbox.faults.add({ provider: p.name, kind: 'status', ...rule });
  t.after(() => sandbox.faults.remove(id));
  return () => sandbox.faults.list().find((f) => f.id === id)?.matched;
}

/** The provider's simulator, for the settings a scenario changes and for starting from no servers. */
function simulator(p: ProviderCase) {
  const sim = sandbox.simulator(p.name);
  assert.ok(sim, `the sandbox simulates ${p.name}`);
  return sim;
}

// The providers run side by side: each has its own simulator, and every fault names its provider.
describe('every provider adapter', { concurrency: PROVIDERS.length }, () => {
  for (const p of PROVIDERS) {
    describe(p.name, { concurrency: 1 }, () => {
      // These inject faults on paths every scenario uses, change the simulator's settings for the
      // next create or start from no servers, so each runs alone.
      describe('one at a time', { concurrency: 1 }, () => {
        test('a burst of 503s on a GET is retried and succeeds; without retries the same burst fails', async (t) => {
          const { server: created } = await adapterFor(p).createServer(p.input('op-503'), ctx);

          const matched = addFault(t, p, { method: 'GET', path: p.serverPath, status: 503, count: 3 });
          const fetched = await adapterFor(p).getServer(created.providerId, ctx);
          assert.equal(fetched?.providerId, created.providerId);
          assert.equal(matched(), 3, 'all three 503s were met and retried');

          addFault(t, p, { method: 'GET', path: p.serverPath, status: 503, count: 1 });
          const err = await rejectsWith(adapterFor(p, { http: { retries: 0 } }).getServer(created.providerId, ctx));
          assert.ok(err instanceof ProviderError, `got ${String(err)}`);
          assert.equal(err.code, ErrorCodes.PROVIDER_UNAVAILABLE);
          assert.equal(err.retryable, true);
          assert.match(err.message, p.unavailable.message);
          if (p.unavailable.providerCode !== undefined) assert.equal(err.providerCode, p.unavailable.providerCode);
        });

        test('a 503 on the create POST is not retried: it fails retryable and no server is made', async (t) => {
          simulator(p).reset();
          const adapter = adapterFor(p);
          const matched = addFault(t, p, { method: 'POST', path: p.createPath, status: 503, count: 2 });
          const err = await rejectsWith(adapter.createServer(p.input('op-post-503'), ctx));
          assert.ok(err instanceof ProviderError, `got ${String(err)}`);
          assert.equal(err.code, ErrorCodes.PROVIDER_UNAVAILABLE);
          assert.equal(err.retryable, true);
          assert.equal(matched(), 1, 'the create was sent once');
          assert.deepEqual(await adapter.listServers(ctx), []);
        });

        test('aborting waitUntilRunning rejects promptly with AbortedError', async () => {
          const adapter = adapterFor(p);
          // The simulators fix a server's timeline at create, so the slow setting is needed only for this one create.
          const config = simulator(p).config() as Record<string, unknown>;
          const usual = Object.fromEntries(Object.keys(p.slowCreates).map((key) => [key, config[key]]));
          simulator(p).configure(p.slowCreates);
          const { server: created } = await adapter.createServer(p.input('op-abort'), ctx).finally(() => simulator(p).configure(usual));
          const controller = new AbortController();
          setTimeout(() => controller.abort(), 200);
          const started = Date.now();
          const err = await rejectsWith(adapter.waitUntilRunning(created.providerId, { signal: controller.signal }));
          assert.ok(err instanceof AbortedError, `got ${String(err)}`);
          const elapsed = Date.now() - started;
          assert.ok(elapsed < 500, `took ${elapsed}ms`);
        });

        test('listServers follows pagination past the first page', async () => {
          simulator(p).reset();
          const adapter = adapterFor(p, { listPageSize: 3 });
          const created = new Set<string>();
          for (let i = 0; i < 8; i++) created.add((await adapter.createServer(p.input(`op-list-${i}`), ctx)).server.providerId);
          const listed = await adapter.listServers(ctx);
          const ids = listed.map((s) => s.providerId);
          assert.equal(ids.length, 8);
          assert.equal(new Set(ids).size, 8, 'no server is listed twice');
          assert.deepEqual(new Set(ids), created);
          assert.ok(listed.every((s) => s.image === p.input('x').image), 'every listed server comes with its image');
          if (p.addressAtCreate) assert.ok(listed.every((s) => s.ipv4 !== null), 'every listed server comes with its address');
        });

        test('a create the provider fails makes waitUntilRunning fail with PROVIDER_ACTION_FAILED, for a fresh adapter too', async () => {
          const adapter = adapterFor(p);
          simulator(p).configure(p.failNextCreate);
          const { server: created } = await adapter.createServer(p.input('op-create-fails'), ctx);
          const err = await rejectsWith(adapter.waitUntilRunning(created.providerId, ctx));
          assert.ok(err instanceof ProviderError, `got ${String(err)}`);
          assert.equal(err.code, ErrorCodes.PROVIDER_ACTION_FAILED);
          assert.match(err.message, p.createFailed(created.providerId));

          // A second adapter never saw the create answer, so it has to find out from the provider itself.
          const fresh = await rejectsWith(adapterFor(p).waitUntilRunning(created.providerId, ctx));
          assert.ok(fresh instanceof ProviderError, `got ${String(fresh)}`);
          assert.equal(fresh.code, ErrorCodes.PROVIDER_ACTION_FAILED);
        });
      });

      // These only make and read their own servers, so they run together.
      describe('side by side', { concurrency: true }, () => {
        test('create answers at once with the request and its marker; waitUntilRunning ends running with a public IPv4', async () => {
          const adapter = adapterFor(p);
          const request = p.input('op-create');
          const { server: created } = await adapter.createServer(request, ctx);
          assert.equal(created.provider, p.name);
          assert.match(created.providerId, p.idPattern);
          assert.equal(created.status, 'provisioning');
          assert.equal(created.providerStatus, p.providerStatus?.created);
          if (p.addressAtCreate) assert.match(created.ipv4 ?? '', /^\d+\.\d+\.\d+\.\d+$/, 'the address comes in the create answer');
          else assert.equal(created.ipv4, null, 'no address before the server is up');
          assert.equal(created.name, request.name);
          assert.equal(created.plan, request.plan);
          assert.equal(created.zone, request.zone);
          assert.equal(created.image, request.image);
          assert.deepEqual([...created.tags].sort(), [...request.tags, 'pe-op:op-create'].sort());
          assert.match(created.createdAt, /^\d{4}-\d\d-\d\dT/);

          const running = await adapter.waitUntilRunning(created.providerId, ctx);
          assert.equal(running.status, 'running');
          assert.equal(running.providerStatus, p.providerStatus?.running);
          assert.equal(running.providerId, created.providerId);
          assert.match(running.ipv4 ?? '', /^\d+\.\d+\.\d+\.\d+$/);
          if (p.addressAtCreate) assert.equal(running.ipv4, created.ipv4, 'the address is kept');
          assert.equal(running.image, request.image);
        });

        test('catalogue: regions, plans with their prices and the default image come from the API', async () => {
          const adapter = adapterFor(p);
          const [regions, plans, images] = await Promise.all([adapter.listRegions(ctx), adapter.listPlans(ctx), adapter.listImages(ctx)]);
          const { region, plan: expected } = p.catalogue;
          assert.deepEqual(regions.find((r) => r.id === region.id), region);
          const plan = plans.find((pl) => pl.id === expected.id);
          assert.ok(plan, `plan ${expected.id} is listed`);
          const { id, vcpus, memory_mb, disk_gb, currency, price_monthly } = plan;
          assert.deepEqual({ id, vcpus, memory_mb, disk_gb, currency, price_monthly }, expected);
          assert.ok(plan.price_hourly > 0 && plan.price_hourly < plan.price_monthly);
          assert.ok(plan.regions.includes(region.id), `regions: ${plan.regions.join(', ')}`);
          assert.equal(images.filter((i) => i.id === adapter.defaultImage).length, 1, 'the default image is listed once (Hetzner: x86 and Arm builds are one image)');
        });

        test('a wrong token fails with PROVIDER_UNAUTHORIZED and the token is not in the message', async () => {
          const wrongToken = 'wrong-token-abcdef123456';
          const err = await rejectsWith(adapterFor(p, { token: wrongToken }).listServers(ctx));
          assert.ok(err instanceof ProviderError, `got ${String(err)}`);
          assert.equal(err.code, ErrorCodes.PROVIDER_UNAUTHORIZED);
          assert.equal(err.retryable, false);
          assert.ok(!err.message.includes(wrongToken));
          assert.ok(!err.message.includes(TOKEN));
          assert.match(err.message, p.unauthorized);
        });

        test('findByMarker finds the server made with that marker and nothing for another marker', async () => {
          const adapter = adapterFor(p);
          const { server: mine } = await adapter.createServer(p.input('op-mine'), ctx);
          await adapter.createServer(p.input('op-other'), ctx);
          await adapter.createServer(p.input('op-mine-2'), ctx);
          const found = await adapter.findByMarker('op-mine', ctx);
          assert.equal(found?.providerId, mine.providerId);
          assert.ok(found?.tags.includes('pe-op:op-mine'), `tags: ${found?.tags.join(', ')}`);
          if (p.addressAtCreate) assert.match(found?.ipv4 ?? '', /^\d+\./, 'found servers come with their details');
          assert.equal(await adapter.findByMarker('op-nobody', ctx), null);
        });

        test('power_off, power_on and reboot wait for the power state and return the refreshed server', async () => {
          const adapter = adapterFor(p);
          const { server: created } = await adapter.createServer(p.input('op-power'), ctx);
          await adapter.waitUntilRunning(created.providerId, ctx);

          const off = await adapter.powerAction(created.providerId, 'power_off', ctx);
          assert.equal(off.status, 'stopped');
          const stillOff = await adapter.powerAction(created.providerId, 'power_off', ctx);
          assert.equal(stillOff.status, 'stopped', 'a rerun finds the work done instead of failing');
          const on = await adapter.powerAction(created.providerId, 'power_on', ctx);
          assert.equal(on.status, 'running');
          assert.ok(on.ipv4);
          const rebooted = await adapter.powerAction(created.providerId, 'reboot', ctx);
          assert.equal(rebooted.status, 'running');
          assert.equal(rebooted.ipv4, on.ipv4);
        });

        test('resize reports each step in order; a rerun that finds the plan changed only sets the power state', async () => {
          const adapter = adapterFor(p);
          const { server: created } = await adapter.createServer(p.input('op-resize'), ctx);
          await adapter.waitUntilRunning(created.providerId, ctx);
          const steps: string[] = [];
          const resized = await adapter.resize(created.providerId, p.resize.to, true, { onProgress: (m) => steps.push(m) });
          assert.equal(resized.plan, p.resize.to);
          assert.equal(resized.status, 'running');
          const order = p.resize.steps.map((words) => steps.findIndex((m) => m.includes(words)));
          assert.ok(order.every((i) => i >= 0), `steps: ${steps.join(' | ')}`);
          assert.deepEqual([...order].sort((a, b) => a - b), order, `in that order: ${steps.join(' | ')}`);

          // An earlier attempt changed the plan and the server was stopped since: a rerun changes nothing else.
          await adapter.powerAction(created.providerId, 'power_off', ctx);
          const rerunSteps: string[] = [];
          const again = await adapter.resize(created.providerId, p.resize.to, false, { onProgress: (m) => rerunSteps.push(m) });
          assert.equal(again.plan, p.resize.to);
          assert.equal(again.status, 'stopped');
          assert.equal(rerunSteps.length, p.resize.rerunSays.length, rerunSteps.join(' | '));
          p.resize.rerunSays.forEach((words, i) => assert.ok(rerunSteps[i]?.includes(words), rerunSteps.join(' | ')));
          assert.ok(!rerunSteps.some((m) => m.includes(p.resize.change)), rerunSteps.join(' | '));
          const startSteps: string[] = [];
          const started = await adapter.resize(created.providerId, p.resize.to, true, { onProgress: (m) => startSteps.push(m) });
          assert.equal(started.plan, p.resize.to);
          assert.equal(started.status, 'running');
          assert.ok(startSteps.some((m) => m.includes(p.resize.startSays)), startSteps.join(' | '));
          assert.ok(!startSteps.some((m) => m.includes(p.resize.change)), startSteps.join(' | '));
        });

        test('delete removes the server; getServer is then null and a second delete reports existed:false', async () => {
          const adapter = adapterFor(p);
          const { server: created } = await adapter.createServer(p.input('op-delete'), ctx);
          assert.deepEqual(await adapter.deleteServer(created.providerId, ctx), { existed: true });
          assert.equal(await adapter.getServer(created.providerId, ctx), null);
          assert.deepEqual(await adapter.deleteServer(created.providerId, ctx), { existed: false });
        });
      });
    });
  }
});
