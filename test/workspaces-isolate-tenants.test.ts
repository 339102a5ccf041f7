import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Operation } from '../src/core/operations/model.js';
import { TestSystem } from './helpers/system.js';
import { allOperations, collectSse, createMember, createWorkspace, errorShape, type Member } from './helpers/tenants.js';

// Well-formed ids that name nothing: what a stranger's id must be indistinguishable from.
const NO_SERVER = 'srv-000000000000';
const NO_OPERATION = '7d444840-9dc0-11d1-b245-5ffdce74fad2';
const NO_TASKSERV = 'tsk-000000000000';
const NO_WORKSPACE = 'nobody-made-this';

const DO = { provider: 'digitalocean', plan: 's-1vcpu-1gb', zone: 'nyc3', check_mode: false, tags: [] as string[] };

interface Server {
  id: string;
  hostname: string;
  workspace: string;
}

describe('workspaces isolate tenants: nothing of team-a is visible or changeable from team-b', () => {
  let sys: TestSystem;
  let alice: Member; // operator of team-a
  let bob: Member; // operator of team-b
  let vera: Member; // viewer of team-a
  let aliceServer: Server;
  let bobServer: Server;

  /** Creates a server as `who` in `workspace` and waits until it runs. */
  async function serverOf(who: Member, workspace: string, hostname: string): Promise<Server> {
    const res = await who.request('POST', '/v1/servers/create', { body: { ...DO, workspace, hostname } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const done = await sys.waitForStatus(res.body.id, ['completed', 'failed'], 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    return { id: String(done.result!.server_id), hostname, workspace };
  }

  /** Installs `hello` as `who`; returns the accepted operation without waiting for it. */
  async function installHello(who: Member, workspace: string, server: string, config: Record<string, unknown> = {}): Promise<Operation> {
    const res = await who.request('POST', '/v1/taskservs/create', { body: { workspace, name: 'hello', servers: [server], config } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body;
  }

  /**
   * The same request for a stranger's id and for an id that names nothing must be the same 404
   * (same code and message but for the id), and must not name the stranger's workspace.
   */
  async function assertLikeAbsent(who: Member, method: string, path: (id: string) => string, foreignId: string, absentId: string, opts: { body?: unknown; headers?: Record<string, string>; owner?: string | null } = {}) {
    const foreign = await who.request(method, path(foreignId), opts);
    const absent = await who.request(method, path(absentId), opts);
    const what = `${method} ${path(foreignId)}`;
    assert.equal(absent.status, 404, `${what} (absent id): ${JSON.stringify(absent.body)}`);
    assert.equal(foreign.status, 404, `${what}: ${JSON.stringify(foreign.body)}`);
    assert.deepEqual(errorShape(foreign.body, foreignId), errorShape(absent.body, absentId), what);
    const owner = opts.owner === undefined ? 'team-a' : opts.owner;
    if (owner) assert.ok(!JSON.stringify(foreign.body).includes(owner), `${what} names the workspace: ${JSON.stringify(foreign.body)}`);
  }

  before(async () => {
    sys = await TestSystem.start({ workers: 2, doActiveDelayMs: 300, doActionDelayMs: 150 });
    await createWorkspace(sys, 'team-a', { path: '/srv/team-a' });
    await createWorkspace(sys, 'team-b');
    alice = await createMember(sys, 'alice', 'operator', ['team-a']);
    bob = await createMember(sys, 'bob', 'operator', ['team-b']);
    vera = await createMember(sys, 'vera', 'viewer', { 'team-a': 'viewer' });
    [aliceServer, bobServer] = await Promise.all([serverOf(alice, 'team-a', 'alice-web'), serverOf(bob, 'team-b', 'bob-web')]);
  });
  after(async () => {
    await sys?.stop();
  });

  test('servers: status, delete, actions, resize and console of alice\'s server answer bob as for an id that does not exist, and change nothing', async () => {
    const before = (await allOperations(sys)).length;
    const calls: Array<[method: string, suffix: string, body?: unknown]> = [
      ['GET', '/status'],
      ['DELETE', ''],
      ['POST', '/actions', { action: 'power_off' }],
      ['PATCH', '', { plan: 's-2vcpu-4gb' }],
      ['POST', '/console'],
    ];
    for (const [method, suffix, body] of calls) {
      await assertLikeAbsent(bob, method, (id) => `/v1/servers/${id}${suffix}`, aliceServer.id, NO_SERVER, { body });
    }
    assert.equal((await allOperations(sys)).length, before, 'no operation was created');
    // The server is as it was, and the id is a real one: its owner reads it.
    const mine = await alice.request('GET', `/v1/servers/${aliceServer.id}/status`);
    assert.equal(mine.status, 200);
    assert.equal(mine.body.status, 'running');
    assert.equal(mine.body.plan, 's-1vcpu-1gb');
  });

  test('servers: bob\'s list holds his own servers only, even when he asks for team-a', async () => {
    const listed = await bob.request('GET', '/v1/servers?limit=200');
    assert.equal(listed.status, 200);
    const ids = listed.body.map((s: Server) => s.id);
    assert.ok(ids.includes(bobServer.id), 'his own server is listed');
    assert.ok(!ids.includes(aliceServer.id), 'alice\'s is not');
    assert.deepEqual([...new Set(listed.body.map((s: Server) => s.workspace))], ['team-b']);

    const asked = await bob.request('GET', '/v1/servers?workspace=team-a&limit=200');
    assert.ok([200, 403, 404].includes(asked.status), `answered ${asked.status}`);
    assert.deepEqual(asked.status === 200 ? asked.body : [], [], 'nothing of team-a');

    // Alice's list does carry hers: the filter is by workspace, not an empty listing.
    const hers = await alice.request('GET', '/v1/servers?limit=200');
    assert.deepEqual(hers.body.map((s: Server) => s.id), [aliceServer.id]);
  });

  test('operations: get (also with ?wait), logs, events and cancel of alice\'s running operation answer bob 404, and it is not cancelled', async () => {
    // A hello install that sleeps on the server: still running while bob tries.
    const op = await installHello(alice, 'team-a', aliceServer.id, { delay_seconds: 3, path: '/tmp/ops-hello.txt' });
    const cases: Array<[method: string, suffix: string, headers?: Record<string, string>]> = [
      ['GET', ''],
      ['GET', '?wait=1s'],
      ['GET', '/logs'],
      ['GET', '/events', { accept: 'text/event-stream' }],
      ['POST', '/cancel'],
    ];
    for (const [method, suffix, headers] of cases) {
      const started = Date.now();
      await assertLikeAbsent(bob, method, (id) => `/v1/operations/${id}${suffix}`, op.id, NO_OPERATION, { headers });
      // A stranger's ?wait must not wait on the operation (its timing would tell it exists).
      assert.ok(Date.now() - started < 900, `${method} ${suffix} took ${Date.now() - started} ms`);
    }
    const now = await sys.request<Operation>('GET', `/v1/operations/${op.id}`);
    assert.ok(['pending', 'running'].includes(now.body.status), `still in flight: ${now.body.status}`);
    assert.equal(now.body.cancel_requested_at, null, 'bob\'s cancel was not recorded');
    const done = await sys.waitForStatus(op.id, ['completed', 'failed', 'cancelled'], 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));

    // The id is real: its owner reads it and its log.
    assert.equal((await alice.request('GET', `/v1/operations/${op.id}`)).status, 200);
    const logs = await alice.request('GET', `/v1/operations/${op.id}/logs`);
    assert.equal(logs.status, 200);
    assert.ok(logs.body.entries.length > 0);
  });

  test('operations: bob\'s list holds none of team-a\'s, even when he asks for team-a', async () => {
    const teamA = (await allOperations(sys)).filter((o) => o.workspace === 'team-a');
    assert.ok(teamA.length > 0, 'team-a has operations to hide');
    const listed = await bob.request<Operation[]>('GET', '/v1/operations?limit=200');
    assert.equal(listed.status, 200);
    assert.ok(listed.body.length > 0, 'bob sees his own');
    assert.deepEqual([...new Set(listed.body.map((o) => o.workspace))], ['team-b']);
    const asked = await bob.request<Operation[]>('GET', '/v1/operations?workspace=team-a&limit=200');
    assert.ok([200, 403, 404].includes(asked.status), `answered ${asked.status}`);
    assert.deepEqual(asked.status === 200 ? asked.body : [], []);
    // Status and type filters walk other indexes: they must not let team-a's through either.
    for (const filter of ['status=completed', 'type=server.create', 'provider=digitalocean']) {
      const res = await bob.request<Operation[]>('GET', `/v1/operations?${filter}&limit=200`);
      assert.equal(res.status, 200, filter);
      assert.ok(res.body.every((o) => o.workspace === 'team-b'), `${filter}: ${res.body.map((o) => o.workspace).join(',')}`);
    }
  });

  test('workflows: get and cancel of alice\'s running workflow answer bob 404, it is not cancelled, and his list holds none of hers', async () => {
    const submitted = await alice.request('POST', '/v1/workflows/submit', {
      body: {
        workspace: 'team-a',
        workflow_type: 'custom',
        parameters: { steps: [{ id: 'greet', type: 'taskserv.create', parameters: { name: 'hello', servers: [aliceServer.id], config: { delay_seconds: 3, path: '/tmp/wf-hello.txt' } } }] },
      },
    });
    assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
    const id = String(submitted.body.id);
    await assertLikeAbsent(bob, 'GET', (wf) => `/v1/workflows/${wf}`, id, NO_OPERATION);
    await assertLikeAbsent(bob, 'POST', (wf) => `/v1/workflows/${wf}/cancel`, id, NO_OPERATION);

    const now = await sys.request<Operation>('GET', `/v1/operations/${id}`);
    assert.equal(now.body.cancel_requested_at, null, 'bob\'s cancel was not recorded');
    const listed = await bob.request<Operation[]>('GET', '/v1/workflows?limit=200');
    assert.equal(listed.status, 200);
    assert.ok(!listed.body.some((w) => w.id === id || w.workspace === 'team-a'), JSON.stringify(listed.body.map((w) => w.workspace)));
    const asked = await bob.request<Operation[]>('GET', '/v1/workflows?workspace=team-a&limit=200');
    assert.ok([200, 403, 404].includes(asked.status), `answered ${asked.status}`);
    assert.deepEqual(asked.status === 200 ? asked.body : [], []);

    const done = await sys.waitForStatus(id, ['completed', 'failed', 'cancelled'], 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    // The id is real: alice reads it and lists it.
    assert.equal((await alice.request('GET', `/v1/workflows/${id}`)).status, 200);
    assert.ok((await alice.request<Operation[]>('GET', '/v1/workflows?limit=200')).body.some((w) => w.id === id));
  });

  test('workflows: a custom workflow in team-b naming alice\'s server is refused exactly as one naming a server that does not exist', async () => {
    const before = (await allOperations(sys)).length;
    const naming = (serverId: string) =>
      bob.request('POST', '/v1/workflows/submit', {
        body: { workspace: 'team-b', workflow_type: 'custom', parameters: { steps: [{ id: 'off', type: 'server.action', parameters: { server_id: serverId, action: 'power_off' } }] } },
      });
    const foreign = await naming(aliceServer.id);
    const absent = await naming(NO_SERVER);
    assert.equal(absent.status, 400, JSON.stringify(absent.body));
    assert.equal(foreign.status, 400, JSON.stringify(foreign.body));
    assert.deepEqual(errorShape(foreign.body, aliceServer.id), errorShape(absent.body, NO_SERVER), 'the answer tells the server exists, and where');
    assert.ok(!JSON.stringify(foreign.body).includes('team-a'), JSON.stringify(foreign.body));
    assert.equal((await allOperations(sys)).length, before);
  });

  test('taskservs: list, get and delete of alice\'s task service answer bob as for one that does not exist; installing on her server from team-b finds no server', async () => {
    const install = await installHello(alice, 'team-a', aliceServer.id);
    const done = await sys.waitForStatus(install.id, ['completed', 'failed'], 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const tsk = String(done.result!.taskserv_id);

    const before = (await allOperations(sys)).length;
    const record = (await sys.request('GET', `/v1/taskservs/${tsk}`)).body;
    await assertLikeAbsent(bob, 'GET', (id) => `/v1/taskservs/${id}`, tsk, NO_TASKSERV);
    await assertLikeAbsent(bob, 'DELETE', (id) => `/v1/taskservs/${id}`, tsk, NO_TASKSERV);

    const listed = await bob.request('GET', '/v1/taskservs?limit=200');
    assert.equal(listed.status, 200);
    assert.ok(!listed.body.some((t: { id: string; workspace: string }) => t.id === tsk || t.workspace === 'team-a'), JSON.stringify(listed.body));
    const asked = await bob.request('GET', '/v1/taskservs?workspace=team-a&limit=200');
    assert.ok([200, 403, 404].includes(asked.status), `answered ${asked.status}`);
    assert.deepEqual(asked.status === 200 ? asked.body : [], []);

    // Bob naming alice's server (by id or hostname) in his own workspace: as if it did not exist.
    for (const [foreignName, absentName] of [[aliceServer.id, NO_SERVER], [aliceServer.hostname, 'no-such-host']] as const) {
      const body = (server: string) => ({ body: { workspace: 'team-b', name: 'hello', servers: [server] } });
      const foreign = await bob.request('POST', '/v1/taskservs/create', body(foreignName));
      const absent = await bob.request('POST', '/v1/taskservs/create', body(absentName));
      assert.equal(absent.status, 400, JSON.stringify(absent.body));
      assert.equal(foreign.status, 400, JSON.stringify(foreign.body));
      assert.deepEqual(errorShape(foreign.body, foreignName), errorShape(absent.body, absentName));
    }
    assert.equal((await allOperations(sys)).length, before, 'no operation was created');

    // Unchanged and still running, and a real id: alice reads and lists it.
    const hers = await alice.request('GET', `/v1/taskservs/${tsk}`);
    assert.equal(hers.status, 200);
    assert.equal(hers.body.status, 'running');
    assert.deepEqual(hers.body, record);
    assert.ok((await alice.request('GET', '/v1/taskservs')).body.some((t: { id: string }) => t.id === tsk));
  });

  test('events: bob\'s stream never carries team-a\'s events while alice\'s operation runs; alice\'s carries them', async () => {
    const aliceStream = await collectSse(`${sys.url}/v1/events`, alice.token);
    const bobStream = await collectSse(`${sys.url}/v1/events`, bob.token);
    const bobAsking = await collectSse(`${sys.url}/v1/events?workspace=team-a`, bob.token);
    await new Promise((r) => setTimeout(r, 200)); // the streams are subscribed
    try {
      // Both act at once, so each stream has something of its own to carry.
      const [a, b] = await Promise.all(
        [[alice, aliceServer], [bob, bobServer]].map(async ([who, server]) => {
          const res = await (who as Member).request('POST', `/v1/servers/${(server as Server).id}/actions`, { body: { action: 'reboot' } });
          assert.equal(res.status, 202, JSON.stringify(res.body));
          return res.body as Operation;
        }),
      );
      for (const op of [a!, b!]) assert.equal((await sys.waitForStatus(op.id, ['completed', 'failed'])).status, 'completed');
      await new Promise((r) => setTimeout(r, 500)); // the last events reach the streams

      const ofAlice = aliceStream.events.filter((e) => e.event === 'state' && e.data.operation_id === a!.id).map((e) => e.data.to);
      assert.deepEqual(ofAlice, ['pending', 'running', 'completed'], 'alice sees her operation');
      assert.ok(aliceStream.events.every((e) => e.data.workspace === 'team-a'), 'alice sees nothing of team-b');
      assert.ok(bobStream.events.some((e) => e.event === 'state' && e.data.operation_id === b!.id && e.data.to === 'completed'), 'bob sees his own operation');
      const leaked = bobStream.events.filter((e) => e.data.workspace !== 'team-b' || e.data.operation_id === a!.id);
      assert.deepEqual(leaked, [], 'bob sees nothing of team-a');
      assert.deepEqual(bobAsking.events, [], 'asking for team-a gives bob nothing');
    } finally {
      await Promise.all([aliceStream.close(), bobStream.close(), bobAsking.close()]);
    }

    // Replaying history from the stream's start: bob's own events only.
    const replay = await collectSse(`${sys.url}/v1/events`, bob.token, { 'Last-Event-ID': '0-0' });
    await new Promise((r) => setTimeout(r, 500));
    await replay.close();
    assert.ok(replay.events.some((e) => e.data.workspace === 'team-b'), 'the replay carries bob\'s history');
    assert.deepEqual(replay.events.filter((e) => e.data.workspace !== 'team-b'), [], 'and nothing else');
  });

  test('submit: bob cannot make anything in team-a, nobody in a workspace nobody made, and the viewer nothing at all', async () => {
    const before = (await allOperations(sys)).length;
    const serverIn = (workspace: string) => ({ body: { ...DO, workspace, hostname: 'intruder' } });
    const workflowIn = (workspace: string) => ({ body: { workspace, workflow_type: 'server_batch_create', parameters: { provider: 'digitalocean', plan: 's-1vcpu-1gb', zone: 'nyc3', hostname_prefix: 'intruder', count: 1 } } });
    const taskservIn = (workspace: string) => ({ body: { workspace, name: 'hello', servers: [aliceServer.id] } });
    const submits: Array<[path: string, body: (ws: string) => { body: unknown }, permission: string]> = [
      ['/v1/servers/create', serverIn, 'server_create'],
      ['/v1/workflows/submit', workflowIn, 'workflow_submit'],
      ['/v1/taskservs/create', taskservIn, 'taskserv_create'],
    ];
    for (const [path, body, permission] of submits) {
      // Not a member: 403 naming the workspace.
      const intruding = await bob.request('POST', path, body('team-a'));
      assert.equal(intruding.status, 403, `${path}: ${JSON.stringify(intruding.body)}`);
      assert.equal(intruding.body.error, 'NOT_A_MEMBER', path);
      assert.match(intruding.body.message, /'team-a'/, path);
      assert.equal(intruding.body.details?.workspace, 'team-a', path);
      // A name nobody made: the admin is told it does not exist...
      const nowhere = await sys.request('POST', path, body(NO_WORKSPACE));
      assert.equal(nowhere.status, 404, `${path}: ${JSON.stringify(nowhere.body)}`);
      assert.equal(nowhere.body.error, 'WORKSPACE_NOT_FOUND', path);
      assert.match(nowhere.body.message, new RegExp(`'${NO_WORKSPACE}'`), path);
      // ...a non-member gets the same 403 as for one that exists, so names do not leak.
      const guessing = await bob.request('POST', path, body(NO_WORKSPACE));
      assert.equal(guessing.status, 403, `${path}: ${JSON.stringify(guessing.body)}`);
      assert.deepEqual(errorShape(guessing.body, NO_WORKSPACE), errorShape(intruding.body, 'team-a'), path);
      // The viewer of team-a: a member, but the role lacks the permission.
      const viewing = await vera.request('POST', path, body('team-a'));
      assert.equal(viewing.status, 403, `${path}: ${JSON.stringify(viewing.body)}`);
      assert.equal(viewing.body.error, 'FORBIDDEN', path);
      assert.match(viewing.body.message, new RegExp(`'${permission}'`), path);
    }
    assert.equal((await allOperations(sys)).length, before, 'nothing was created');
    assert.ok(!(await sys.droplets()).some((d) => d.name.startsWith('intruder')));

    // The viewer reads team-a but changes nothing in it: 403 naming the permission, not 404.
    assert.equal((await vera.request('GET', `/v1/servers/${aliceServer.id}/status`)).status, 200);
    const deleting = await vera.request('DELETE', `/v1/servers/${aliceServer.id}`);
    assert.equal(deleting.status, 403, JSON.stringify(deleting.body));
    assert.match(deleting.body.message, /'server_delete'/);
    assert.equal((await allOperations(sys)).length, before);
  });

  test('idempotency keys: one key used by alice and bob makes two operations; bob replaying alice\'s key does not get hers', async () => {
    const before = (await allOperations(sys)).length;
    const key = { 'Idempotency-Key': 'the-same-key' };
    const hers = { ...DO, check_mode: true, workspace: 'team-a', hostname: 'idem-a' };
    const his = { ...DO, check_mode: true, workspace: 'team-b', hostname: 'idem-b' };
    const a = await alice.request('POST', '/v1/servers/create', { body: hers, headers: key });
    const b = await bob.request('POST', '/v1/servers/create', { body: his, headers: key });
    assert.equal(a.status, 202, JSON.stringify(a.body));
    assert.equal(b.status, 202, JSON.stringify(b.body));
    assert.notEqual(b.body.id, a.body.id);
    assert.equal(b.headers.get('idempotent-replayed'), null, 'bob\'s is not a replay of alice\'s');
    assert.equal(a.body.requested_by, 'alice');
    assert.equal(b.body.requested_by, 'bob');
    assert.equal(b.body.workspace, 'team-b');

    // Alice's exact request under a key only she used, sent by bob: refused, not her answer replayed.
    const aliceOnly = { 'Idempotency-Key': 'alice-only-key' };
    const first = await alice.request('POST', '/v1/servers/create', { body: hers, headers: aliceOnly });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    for (const headers of [aliceOnly, key]) {
      const replaying = await bob.request('POST', '/v1/servers/create', { body: hers, headers });
      // Under his own use of the shared key it is a different body (422); under hers he is no member (403).
      assert.equal(replaying.status, headers === key ? 422 : 403, JSON.stringify(replaying.body));
      assert.equal(replaying.body.error, headers === key ? 'IDEMPOTENCY_KEY_REUSED' : 'NOT_A_MEMBER');
      assert.equal(replaying.headers.get('idempotent-replayed'), null);
      assert.equal(replaying.headers.get('location'), null);
      for (const id of [a.body.id, first.body.id]) assert.ok(!JSON.stringify(replaying.body).includes(id), 'no operation of alice\'s in the answer');
    }

    // Each one's own retry still gets its own operation back.
    const again = [await alice.request('POST', '/v1/servers/create', { body: hers, headers: key }), await bob.request('POST', '/v1/servers/create', { body: his, headers: key })];
    assert.deepEqual(again.map((r) => r.body.id), [a.body.id, b.body.id]);
    assert.deepEqual(again.map((r) => r.headers.get('idempotent-replayed')), ['true', 'true']);
    assert.equal((await allOperations(sys)).length, before + 3, 'alice\'s two and bob\'s one');
  });

  test('workspaces: each member sees only its own, with the seed\'s fields; last_used follows a submit; only admins create them', async () => {
    const names = async (who: Member) => {
      const res = await who.request('GET', '/v1/workspaces');
      assert.equal(res.status, 200);
      return res.body as Array<Record<string, unknown>>;
    };
    const aliceSees = await names(alice);
    assert.deepEqual(aliceSees.map((w) => w.name), ['team-a']);
    for (const field of ['name', 'path', 'active', 'last_used']) assert.ok(field in aliceSees[0]!, `${field} in ${JSON.stringify(aliceSees[0])}`);
    assert.equal(aliceSees[0]!.path, '/srv/team-a');
    assert.equal(aliceSees[0]!.active, true);
    assert.deepEqual((await names(vera)).map((w) => w.name), ['team-a']);
    assert.deepEqual((await names(bob)).map((w) => w.name), ['team-b']);
    // Another team's workspace answers as one that does not exist.
    await assertLikeAbsent(alice, 'GET', (name) => `/v1/workspaces/${name}`, 'team-b', NO_WORKSPACE, { owner: null });
    await assertLikeAbsent(alice, 'GET', (name) => `/v1/workspaces/${name}/usage`, 'team-b', NO_WORKSPACE, { owner: null });

    // last_used: empty in a fresh workspace, set by the first submit into it.
    await createWorkspace(sys, 'team-fresh');
    const dora = await createMember(sys, 'dora', 'developer', ['team-fresh']);
    assert.equal((await names(dora))[0]!.last_used, null);
    const submittedAt = Date.now();
    const res = await dora.request('POST', '/v1/servers/create', { body: { ...DO, check_mode: true, workspace: 'team-fresh', hostname: 'fresh-01' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const lastUsed = await sys.eventually(async () => ((await names(dora))[0]!.last_used as string | null) ?? undefined, 'last_used to be set', 5000);
    assert.ok(Math.abs(Date.parse(lastUsed) - submittedAt) < 5000, `last_used ${lastUsed}`);

    // Creating and changing workspaces is for global admins.
    const creating = await alice.request('POST', '/v1/workspaces/create', { body: { name: 'alice-own' } });
    assert.equal(creating.status, 403, JSON.stringify(creating.body));
    assert.equal(creating.body.error, 'FORBIDDEN');
    assert.match(creating.body.message, /'workspace_create'/);
    assert.equal((await sys.request('GET', '/v1/workspaces/alice-own')).status, 404, 'nothing was created');
    const changing = await alice.request('PATCH', '/v1/workspaces/team-a', { body: { quotas: { max_servers: 1000 } } });
    assert.equal(changing.status, 403, JSON.stringify(changing.body));
    assert.match(changing.body.message, /'workspace_manage'/);
    assert.deepEqual((await sys.request('GET', '/v1/workspaces/team-a')).body.quotas, {});
  });
});
