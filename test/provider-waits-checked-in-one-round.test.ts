/**
 * "Waiting is a state": one watcher per account checks every parked wait with the
 * provider's listing. For each of the four adapters, against the sandbox:
 * - checkWaits over many booting servers costs one listing per round, plus a bounded number
 *   of extra reads, and answers waiting → done as they boot;
 * - a delete step chain ends with the server gone (UpCloud stops it first);
 * - a power step sends its action once, and checkWaits reports done afterwards;
 * - a failed create (errored create action, suspended instance, state error) answers failed.
 *
 * Requests are counted with zero-latency fault rules: a `latency` rule changes nothing but
 * counts every request it matches.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../src/common/errors.js';
import { DigitalOceanProvider } from '../src/providers/digitalocean/adapter.js';
import { HetznerProvider } from '../src/providers/hetzner/adapter.js';
import { UpCloudProvider } from '../src/providers/upcloud/adapter.js';
import { VultrProvider } from '../src/providers/vultr/adapter.js';
import type { CreateServerInput, Provider, ProviderName, ProviderServer, ServerWait, WaitCheck } from '../src/common/provider.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { EVERY_PROVIDER, PROVIDER_REQUESTS } from './helpers/provider-requests.js';

const TOKEN = 'sandbox-waits-token-0123456789';
const ctx = {};

/** How long a new server takes to come up, per test: long enough for a first round to see every one booting. */
async function setup(t: TestContext, name: ProviderName, opts: { bootMs?: number; listPageSize?: number } = {}) {
  const boot = opts.bootMs ?? 150;
  const sandbox = await startSandbox({
    token: TOKEN,
    ssh: false,
    digitalocean: { activeDelayMs: boot, actionDelayMs: 100, rateLimit: false },
    hetzner: { initializeDelayMs: boot, startDelayMs: 50, actionDelayMs: 100, deleteDelayMs: 50, rateLimit: false },
    vultr: { activeDelayMs: boot, bootDelayMs: 50, actionDelayMs: 100, resizeDelayMs: 100, rateLimit: false },
    upcloud: { createDelayMs: boot, stopDelayMs: 100, restartDelayMs: 100, modifyDelayMs: 50, errorDurationMs: 5_000 },
  });
  t.after(() => sandbox.close());
  const provider = makeProvider(name, sandbox, opts.listPageSize);
  return { sandbox, provider, requests: new RequestCounter(sandbox, name) };
}

function makeProvider(name: ProviderName, sandbox: Sandbox, listPageSize?: number): Provider {
  const baseUrl = sandbox.baseUrls[name];
  assert.ok(baseUrl, `the sandbox serves ${name}`);
  const options = {
    baseUrl,
    token: TOKEN,
    pollIntervalMs: 25,
    waitTimeoutMs: 10_000,
    listPageSize,
    http: { baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5_000 },
  };
  switch (name) {
    case 'digitalocean':
      return new DigitalOceanProvider(options);
    case 'hetzner':
      return new HetznerProvider(options);
    case 'vultr':
      return new VultrProvider(options);
    case 'upcloud':
      return new UpCloudProvider(options);
  }
}

function input(provider: Provider, marker: string): CreateServerInput {
  const { plan, zone } = PROVIDER_REQUESTS[provider.name];
  return { name: `w-${marker}`, plan, zone, image: provider.defaultImage, tags: ['env:test'], marker };
}

/** The paths each provider's requests take, as its fault rules see them. */
const PATHS: Record<ProviderName, { list: string; one: string; actions: string; power: string }> = {
  digitalocean: {
    list: '^/v2/droplets$',
    one: '^/v2/droplets/[^/]+$',
    actions: '^/v2/(actions|droplets/[^/]+/actions)(/|$)',
    power: '^/v2/droplets/[^/]+/actions$',
  },
  hetzner: {
    list: '^/v1/servers$',
    one: '^/v1/servers/[^/]+$',
    actions: '^/v1/(actions|servers/[^/]+/actions)(/|$)',
    power: '^/v1/servers/[^/]+/actions/[a-z_]+$',
  },
  vultr: {
    list: '^/v2/instances$',
    one: '^/v2/instances/[^/]+$',
    actions: '^/v2/no-actions-on-vultr$',
    power: '^/v2/instances/[^/]+/(halt|start|reboot)$',
  },
  upcloud: {
    list: '^/1\\.3/server$',
    one: '^/1\\.3/server/[^/]+$',
    actions: '^/1\\.3/no-actions-on-upcloud$',
    power: '^/1\\.3/server/[^/]+/(stop|start|restart)$',
  },
};

type Counts = { total: number; list: number; one: number; actions: number; power: number };

/** Counts one provider's requests by kind, through fault rules that add no latency. */
class RequestCounter {
  private readonly rules: Record<keyof Counts, string>;

  constructor(
    private readonly sandbox: Sandbox,
    provider: ProviderName,
  ) {
    const paths = PATHS[provider];
    const rule = (method: string | undefined, path: string | undefined) =>
      sandbox.faults.add({ provider, kind: 'latency', latencyMs: 0, ...(method ? { method } : {}), ...(path ? { path } : {}) });
    this.rules = {
      total: rule(undefined, undefined),
      list: rule('GET', paths.list),
      one: rule('GET', paths.one),
      actions: rule('GET', paths.actions),
      power: rule('POST', paths.power),
    };
  }

  read(): Counts {
    const matched = new Map(this.sandbox.faults.list().map((r) => [r.id, r.matched]));
    const get = (key: keyof Counts) => matched.get(this.rules[key]) ?? 0;
    return { total: get('total'), list: get('list'), one: get('one'), actions: get('actions'), power: get('power') };
  }

  /** What `work` cost. */
  async cost<T>(work: () => Promise<T>): Promise<{ result: T; cost: Counts }> {
    const before = this.read();
    const result = await work();
    const after = this.read();
    const cost = Object.fromEntries(Object.keys(after).map((k) => [k, after[k as keyof Counts] - before[k as keyof Counts]])) as Counts;
    return { result, cost };
  }
}

/**
 * What one round may spend beyond its listing, given how many waits ended in it:
 * DigitalOcean reads single actions, capped at 5 a round; Hetzner reads every undecided
 * wait's actions in one `GET /actions?id=…` (25 ids a request); Vultr needs nothing more;
 * UpCloud reads the details of each wait that ended (listings carry no addresses).
 */
const EXTRA_PER_ROUND: Record<ProviderName, (ended: number) => number> = {
  digitalocean: () => 5,
  hetzner: () => 1,
  vultr: () => 0,
  upcloud: (ended) => ended,
};

/** Polls checkWaits on one wait until it is no longer waiting. */
async function untilSettled(provider: Provider, wait: ServerWait): Promise<WaitCheck> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [check] = await provider.checkWaits([wait], ctx);
    assert.ok(check, 'one answer per wait');
    if (check.state !== 'waiting') return check;
    assert.ok(Date.now() < deadline, `still waiting for ${wait.label}: ${check.status}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function untilDone(provider: Provider, wait: ServerWait): Promise<ProviderServer | null> {
  const check = await untilSettled(provider, wait);
  assert.equal(check.state, 'done', `${wait.label}: ${JSON.stringify(check)}`);
  return check.state === 'done' ? check.server : null;
}

async function runningServer(provider: Provider, marker: string): Promise<ProviderServer> {
  const { server, wait } = await provider.createServer(input(provider, marker), ctx);
  if (!wait) return server;
  const running = await untilDone(provider, wait);
  assert.ok(running);
  return running;
}

for (const name of EVERY_PROVIDER) {
  test(`${name}: one round checks 5 booting servers with one listing and answers done as they boot`, async (t) => {
    const { provider, requests } = await setup(t, name, { bootMs: 1_500 });
    const waits: ServerWait[] = [];
    for (let i = 0; i < 5; i++) {
      const { server, wait } = await provider.createServer(input(provider, `round-${i}`), ctx);
      assert.equal(server.status, 'provisioning');
      assert.ok(wait, 'a new server is waited for');
      assert.equal(wait.until, 'running');
      assert.equal(wait.providerId, server.providerId);
      waits.push(wait);
    }

    const first = await requests.cost(() => provider.checkWaits(waits, ctx));
    assert.deepEqual(first.result.map((c) => c.state), ['waiting', 'waiting', 'waiting', 'waiting', 'waiting']);
    assert.equal(first.cost.list, 1, 'one listing page');
    assert.equal(first.cost.one, 0, 'no server is read on its own while all are booting');
    assert.ok(first.cost.total <= 1 + EXTRA_PER_ROUND[name](0), `first round cost ${JSON.stringify(first.cost)}`);

    // Like the watcher, each round looks only at the waits still waiting.
    const answers: WaitCheck[] = [...first.result];
    let rounds = 1;
    const deadline = Date.now() + 15_000;
    for (;;) {
      const open = waits.filter((_, i) => answers[i]?.state === 'waiting');
      if (open.length === 0) break;
      assert.ok(Date.now() < deadline, `still ${answers.map((c) => c.state).join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
      const round = await requests.cost(() => provider.checkWaits(open, ctx));
      rounds++;
      assert.equal(round.result.length, open.length, 'one answer per wait');
      for (const check of round.result) assert.notEqual(check.state, 'failed', JSON.stringify(check));
      const ended = round.result.filter((c) => c.state !== 'waiting').length;
      // Up to two waits are read server by server; more share one listing page.
      const reads = open.length > 2 ? 1 : open.length;
      if (open.length > 2) assert.equal(round.cost.list, 1, `round ${rounds} reads one listing page`);
      else assert.equal(round.cost.list, 0, `round ${rounds} reads its ${open.length} servers on their own`);
      assert.ok(
        round.cost.total <= reads + EXTRA_PER_ROUND[name](ended),
        `round ${rounds} (${open.length} open, ${ended} ended) cost ${JSON.stringify(round.cost)}`,
      );
      open.forEach((wait, j) => {
        answers[waits.indexOf(wait)] = round.result[j] as WaitCheck;
      });
    }
    assert.ok(rounds > 1, 'the servers were seen booting before they were running');
    answers.forEach((check, i) => {
      assert.equal(check.state, 'done');
      if (check.state !== 'done') return;
      assert.equal(check.server?.providerId, waits[i]?.providerId, 'answers come in the order of the waits');
      assert.equal(check.server?.status, 'running');
      assert.match(check.server?.ipv4 ?? '', /^\d+\.\d+\.\d+\.\d+$/);
    });
  });

  test(`${name}: a listing spread over several pages is read to its end`, async (t) => {
    const { provider, requests } = await setup(t, name, { bootMs: 1_500, listPageSize: 2 });
    const waits: ServerWait[] = [];
    for (let i = 0; i < 5; i++) {
      const { wait } = await provider.createServer(input(provider, `pages-${i}`), ctx);
      assert.ok(wait);
      waits.push(wait);
    }
    const { result, cost } = await requests.cost(() => provider.checkWaits(waits, ctx));
    assert.equal(cost.list, 3, 'three pages of two');
    assert.deepEqual(result.map((c) => c.state), ['waiting', 'waiting', 'waiting', 'waiting', 'waiting']);
  });

  test(`${name}: a delete step chain ends with the server gone`, async (t) => {
    const { provider } = await setup(t, name);
    const server = await runningServer(provider, 'delete-chain');
    const waitedFor: string[] = [];
    const notes: string[] = [];
    let first: boolean | undefined;
    for (let moves = 0; moves < 10; moves++) {
      const step = await provider.deleteStep(server.providerId, ctx);
      first ??= step.existed;
      if (step.note) notes.push(step.note);
      if (step.wait) {
        waitedFor.push(step.wait.until);
        await untilDone(provider, step.wait);
      }
      if (!step.again) break;
    }
    // UpCloud deletes only a stopped server: the chain stops it, then deletes it.
    assert.deepEqual(waitedFor, name === 'upcloud' ? ['stopped', 'gone'] : ['gone'], notes.join(' | '));
    assert.equal(first, true);
    assert.equal(await provider.getServer(server.providerId, ctx), null);

    const again = await provider.deleteStep(server.providerId, ctx);
    assert.deepEqual({ wait: again.wait, again: again.again, existed: again.existed }, { wait: null, again: false, existed: false });
  });

  test(`${name}: a power step sends its action once and checkWaits then reports done`, async (t) => {
    const { provider, requests } = await setup(t, name);
    const server = await runningServer(provider, 'power-step');

    for (const [action, status] of [
      ['power_off', 'stopped'],
      ['power_on', 'running'],
      ['reboot', 'running'],
    ] as const) {
      const { result: step, cost } = await requests.cost(() => provider.powerStep(server.providerId, action, ctx));
      assert.equal(cost.power, 1, `${action} is sent once`);
      assert.equal(step.again, false, `${action}: nothing left to do after its wait`);
      assert.ok(step.wait, `${action} has something to wait for`);
      const watched = await requests.cost(() => untilDone(provider, step.wait as ServerWait));
      assert.equal(watched.cost.power, 0, 'checking a wait sends nothing');
      assert.equal(watched.result?.status, status, action);
    }

    // A rerun of a finished chain finds the work done instead of sending it again.
    await untilDone(provider, (await provider.powerStep(server.providerId, 'power_off', ctx)).wait as ServerWait);
    const { result: rerun, cost } = await requests.cost(() => provider.powerStep(server.providerId, 'power_off', ctx));
    assert.equal(cost.power, 0);
    assert.deepEqual({ wait: rerun.wait, again: rerun.again }, { wait: null, again: false });
  });

  test(`${name}: a create that fails answers failed, through its create wait and a wait found by marker`, async (t) => {
    const { sandbox, provider } = await setup(t, name);
    const healthy = await provider.createServer(input(provider, 'fails-healthy'), ctx);
    sandbox.simulator(name)?.configure(name === 'vultr' ? { suspendNextCreates: 1 } : { failNextCreates: 1 });
    const failing = await provider.createServer(input(provider, 'fails'), ctx);
    assert.ok(healthy.wait && failing.wait);
    const found = await provider.findByMarker('fails', ctx);
    assert.equal(found?.providerId, failing.server.providerId);
    const fromMarker = provider.runningWait(found as ProviderServer);
    assert.ok(fromMarker, 'a server found mid-create is waited for');

    // The watcher stamps when a wait was parked; these were parked long ago (DigitalOcean asks
    // a create action about a droplet still `new` only after a minute).
    const longAgo = Date.now() - 10 * 60_000;
    const waits = [healthy.wait, failing.wait, fromMarker].map((w) => ({ ...w, since: longAgo }));
    const deadline = Date.now() + 10_000;
    let checks: WaitCheck[];
    for (;;) {
      checks = await provider.checkWaits(waits, ctx);
      if (checks[1]?.state !== 'waiting' && checks[2]?.state !== 'waiting') break;
      assert.ok(Date.now() < deadline, `still ${checks.map((c) => c.state).join(', ')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.notEqual(checks[0]?.state, 'failed', 'the healthy server is not failed by its neighbour');
    for (const check of [checks[1], checks[2]]) {
      assert.equal(check?.state, 'failed', JSON.stringify(check));
      if (check?.state !== 'failed') continue;
      assert.equal(check.code, ErrorCodes.PROVIDER_ACTION_FAILED);
      assert.match(check.message, FAILED_CREATE[name]);
    }
  });
}

const FAILED_CREATE: Record<ProviderName, RegExp> = {
  digitalocean: /create errored/,
  hetzner: /create_server action \d+ for server \d+ failed: Action failed/,
  vultr: /suspended/,
  upcloud: /went into state error/,
};
