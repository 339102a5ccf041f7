import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Operation } from '../src/core/operations/model.js';
import type { HttpReply } from './helpers/http.js';
import { PROVIDER_REQUESTS } from './helpers/provider-requests.js';
import { TestSystem } from './helpers/system.js';
import { allOperations, createMember, createWorkspace, type Member } from './helpers/tenants.js';

const { plan: SMALL, biggerPlan: BIG, zone: ZONE } = PROVIDER_REQUESTS.digitalocean;

interface Plan {
  id: string;
  vcpus: number;
  price_monthly: number;
  currency: string;
}

describe('workspace quotas refuse the creates that would pass a limit', () => {
  let sys: TestSystem;
  let quinn: Member; // an operator of every workspace this file makes
  let small: Plan;
  let big: Plan;
  const workspaces = ['q-servers', 'q-vcpus', 'q-cost', 'q-check', 'q-delete', 'q-workflow', 'q-later-steps', 'q-steady'];

  const create = (workspace: string, hostname: string, plan = SMALL, extra: Record<string, unknown> = {}): Promise<HttpReply> =>
    quinn.request('POST', '/v1/servers/create', { body: { workspace, provider: 'digitalocean', plan, zone: ZONE, hostname, check_mode: false, tags: [], ...extra } });

  async function accepted(reply: HttpReply): Promise<Operation> {
    assert.equal(reply.status, 202, JSON.stringify(reply.body));
    const done = await sys.waitForStatus(reply.body.id, ['completed', 'failed'], 20000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    return done;
  }

  async function setQuotas(workspace: string, quotas: Record<string, unknown>): Promise<void> {
    const res = await sys.request('PATCH', `/v1/workspaces/${workspace}`, { body: { quotas } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.quotas, quotas);
  }

  async function usage(workspace: string): Promise<{ servers: number; vcpus: number; monthly_cost: Record<string, number> }> {
    const res = await quinn.request('GET', `/v1/workspaces/${workspace}/usage`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.usage;
  }

  /** A 403 QUOTA_EXCEEDED naming the limit, its maximum, the use now and what the request needs. */
  function assertRefused(reply: HttpReply, workspace: string, limit: string, max: number, current: number, requested: number): void {
    assert.equal(reply.status, 403, JSON.stringify(reply.body));
    assert.equal(reply.body.error, 'QUOTA_EXCEEDED');
    assert.equal(reply.body.message, `insufficient quota in workspace '${workspace}': ${limit} is ${max}, ${current} in use, the request needs ${requested}`);
    assert.equal(reply.body.details.workspace, workspace);
    assert.deepEqual(reply.body.details.exceeded.find((e: { limit: string }) => e.limit === limit), { limit, max, current, requested });
  }

  before(async () => {
    // Short sandbox delays: the creates here are about admission, not about waiting on the cloud.
    sys = await TestSystem.start({ workers: 2, doActiveDelayMs: 50, doActionDelayMs: 50 });
    for (const name of workspaces) await createWorkspace(sys, name);
    quinn = await createMember(sys, 'quinn', 'operator', workspaces);
    const catalog = await quinn.request('GET', '/v1/catalog/plans?provider=digitalocean');
    assert.equal(catalog.status, 200, JSON.stringify(catalog.body));
    const plan = (id: string) => catalog.body.plans.find((p: Plan) => p.id === id) as Plan;
    [small, big] = [plan(SMALL), plan(BIG)];
    // What the limits below rely on: the bigger plan has more vCPUs and costs more, in USD.
    assert.ok(big.vcpus > small.vcpus && big.price_monthly > small.price_monthly, JSON.stringify({ small, big }));
    assert.equal(small.currency, 'USD');
    assert.equal(big.currency, 'USD');
  });
  after(async () => {
    await sys?.stop();
  });

  // Each case below has a workspace of its own: they run side by side on the one system.
  describe('each in its own workspace', { concurrency: 3 }, () => {
    test('max_servers 3: of 20 creates at once exactly 3 are accepted, the other 17 refused naming the limit, the use and the need', async () => {
      await setQuotas('q-servers', { max_servers: 3 });
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => create('q-servers', `burst-${i}`)));
      const ok = replies.filter((r) => r.status === 202);
      assert.equal(ok.length, 3, replies.map((r) => r.status).join(','));
      for (const r of replies.filter((r) => r.status !== 202)) assertRefused(r, 'q-servers', 'max_servers', 3, 3, 1);

      // Counted while the creates are open, and once each when they have made their servers.
      assert.equal((await usage('q-servers')).servers, 3);
      for (const r of ok) await accepted(r);
      assert.equal((await usage('q-servers')).servers, 3);
      assert.equal((await allOperations(sys)).filter((o) => o.workspace === 'q-servers').length, 3, 'the refused made no operation');
      const servers = await quinn.request('GET', '/v1/servers?workspace=q-servers&limit=200');
      assert.equal(servers.body.length, 3);
    });

    test('usage counts each create exactly once while it goes pending → running → completed', async () => {
      // Quotas are read from this same count: a create counted twice refuses one that fits, one missed lets one too many in.
      await setQuotas('q-steady', { max_servers: 100 });
      let started = 0; // creates sent so far
      let acceptedSoFar = 0; // creates answered 202 so far
      let done = false;
      const wrong: string[] = [];
      // Readers all the while: each reading must lie between the creates accepted before it began and those sent before it ended.
      const readers = Array.from({ length: 4 }, async () => {
        while (!done) {
          const low = acceptedSoFar;
          const servers = (await usage('q-steady')).servers;
          if (servers < low || servers > started) wrong.push(`${servers} (between ${low} and ${started})`);
        }
      });
      try {
        const ops: Operation[] = [];
        for (let i = 0; i < 10; i++) {
          started++;
          const res = await create('q-steady', `steady-${i}`);
          assert.equal(res.status, 202, JSON.stringify(res.body));
          acceptedSoFar++;
          ops.push(res.body);
          await new Promise((r) => setTimeout(r, 40)); // let the workers pick it up while the readers read
        }
        for (const op of ops) assert.equal((await sys.waitForStatus(op.id, ['completed', 'failed'], 20000)).status, 'completed');
      } finally {
        done = true;
        await Promise.all(readers);
      }
      assert.equal((await usage('q-steady')).servers, 10);
      assert.deepEqual(wrong, [], 'usage readings outside what was submitted');
    });

    test('max_vcpus: a create that would pass the vCPUs is refused, a smaller one that fits is accepted', async () => {
      await setQuotas('q-vcpus', { max_vcpus: big.vcpus });
      await accepted(await create('q-vcpus', 'cpu-1', SMALL));
      assertRefused(await create('q-vcpus', 'cpu-2', BIG), 'q-vcpus', 'max_vcpus', big.vcpus, small.vcpus, big.vcpus);
      // Filling the limit exactly is allowed: a second small one fits when two of them are within it.
      const fits = small.vcpus * 2 <= big.vcpus;
      const third = await create('q-vcpus', 'cpu-3', SMALL);
      if (fits) await accepted(third);
      else assertRefused(third, 'q-vcpus', 'max_vcpus', big.vcpus, small.vcpus, small.vcpus);
      assert.equal((await usage('q-vcpus')).vcpus, small.vcpus * (fits ? 2 : 1));
    });

    test('max_monthly_cost: a create that would pass the monthly cost is refused, one that reaches it exactly is accepted', async () => {
      const limit = big.price_monthly + small.price_monthly;
      await setQuotas('q-cost', { max_monthly_cost: { USD: limit } });
      await accepted(await create('q-cost', 'cost-1', BIG));
      assertRefused(await create('q-cost', 'cost-2', BIG), 'q-cost', 'max_monthly_cost.USD', limit, big.price_monthly, big.price_monthly);
      await accepted(await create('q-cost', 'cost-3', SMALL));
      assert.deepEqual((await usage('q-cost')).monthly_cost, { USD: limit });
      assertRefused(await create('q-cost', 'cost-4', SMALL), 'q-cost', 'max_monthly_cost.USD', limit, limit, small.price_monthly);
    });

    test('after a server is deleted (and its delete completed) a new create fits again', async () => {
      await setQuotas('q-delete', { max_servers: 2 });
      const [first] = [await accepted(await create('q-delete', 'del-1')), await accepted(await create('q-delete', 'del-2'))];
      assertRefused(await create('q-delete', 'del-3'), 'q-delete', 'max_servers', 2, 2, 1);
      const del = await quinn.request('DELETE', `/v1/servers/${first!.result!.server_id}`);
      await accepted(del);
      assert.equal((await usage('q-delete')).servers, 1);
      await accepted(await create('q-delete', 'del-3'));
      assert.equal((await usage('q-delete')).servers, 2);
      assertRefused(await create('q-delete', 'del-4'), 'q-delete', 'max_servers', 2, 2, 1);
    });

    test('a workflow\'s creates count: a batch bigger than what is left is refused whole', async () => {
      await setQuotas('q-workflow', { max_servers: 2 });
      await accepted(await create('q-workflow', 'wf-0'));
      const batch = (count: number) =>
        quinn.request('POST', '/v1/workflows/submit', {
          body: { workspace: 'q-workflow', workflow_type: 'server_batch_create', parameters: { provider: 'digitalocean', plan: SMALL, zone: ZONE, hostname_prefix: `batch${count}`, count } },
        });
      assertRefused(await batch(2), 'q-workflow', 'max_servers', 2, 1, 2);
      assert.equal((await allOperations(sys)).filter((o) => o.workspace === 'q-workflow').length, 1, 'nothing of the batch was started');
      const res = await batch(1);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal((await sys.waitForStatus(res.body.id, ['completed', 'failed', 'cancelled'], 30000)).status, 'completed');
      assert.equal((await usage('q-workflow')).servers, 2);
      assertRefused(await batch(1), 'q-workflow', 'max_servers', 2, 2, 1);
    });

    test('a workflow\'s creates count from its acceptance, also while they wait behind an earlier step', async () => {
      const ws = 'q-later-steps';
      await setQuotas(ws, { max_servers: 2 });
      const base = await accepted(await create(ws, 'base-1'));
      // The create step waits behind a step that sleeps 3 s on the server: for that long it is no operation yet.
      const wf = await quinn.request('POST', '/v1/workflows/submit', {
        body: {
          workspace: ws,
          workflow_type: 'custom',
          parameters: {
            steps: [
              { id: 'slow', type: 'taskserv.create', parameters: { name: 'hello', servers: [base.result!.server_id], config: { delay_seconds: 3 } } },
              { id: 'more', type: 'server.create', depends_on: ['slow'], parameters: { provider: 'digitalocean', plan: SMALL, zone: ZONE, hostname: 'after-slow' } },
            ],
          },
        },
      });
      assert.equal(wf.status, 202, JSON.stringify(wf.body));
      // Meanwhile: what usage says, and a create that would make a third server.
      const countedMeanwhile = (await usage(ws)).servers;
      const squeeze = await create(ws, 'squeeze-in');
      assert.equal((await sys.waitForStatus(wf.body.id, ['completed', 'failed', 'cancelled'], 30000)).status, 'completed');
      if (squeeze.status === 202) await sys.waitForStatus(squeeze.body.id, ['completed', 'failed'], 20000);

      const servers = (await quinn.request('GET', `/v1/servers?workspace=${ws}&limit=200`)).body.map((s: { hostname: string }) => s.hostname).sort();
      assert.deepEqual(servers, ['after-slow', 'base-1'], `never more servers than the quota (the create meanwhile answered ${squeeze.status}, usage said ${countedMeanwhile})`);
      assertRefused(squeeze, ws, 'max_servers', 2, 2, 1);
      assert.equal(countedMeanwhile, 2, 'the workflow\'s create is counted as soon as it is accepted');
    });
  });

  // Counts every droplet of the sandbox: run alone, after the others.
  test('check_mode over quota is accepted, makes nothing, and its result says the create would not fit', async () => {
    await setQuotas('q-check', { max_servers: 1 });
    await accepted(await create('q-check', 'check-1'));
    assertRefused(await create('q-check', 'check-2'), 'q-check', 'max_servers', 1, 1, 1);
    const before = (await sys.droplets()).length;
    const done = await accepted(await create('q-check', 'check-2', SMALL, { check_mode: true }));
    assert.equal(done.result!.check_mode, true);
    const quota = done.result!.quota as { fits: boolean; usage: { servers: number }; after: { servers: number }; exceeded: Array<{ limit: string }> };
    assert.ok(quota, `no quota in ${JSON.stringify(done.result)}`);
    assert.equal(quota.fits, false);
    assert.equal(quota.usage.servers, 1);
    assert.equal(quota.after.servers, 2);
    assert.deepEqual(quota.exceeded.map((e) => e.limit), ['max_servers']);
    assert.equal((await sys.droplets()).length, before, 'the check made no server');
    assert.equal((await usage('q-check')).servers, 1, 'a check is not counted');
  });
});
