import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { Redis } from 'ioredis';
import { after, before, describe, test } from 'node:test';
import { Keys } from '../src/core/keys.js';
import { OperationLog } from '../src/core/operations/log.js';
import type { Operation } from '../src/core/operations/model.js';
import { http } from './helpers/http.js';
import { PROVIDER_REQUESTS } from './helpers/provider-requests.js';
import { TestSystem } from './helpers/system.js';

interface Server {
  id: string;
  hostname: string;
  ip_address: string;
}

describe('task services are installed over SSH on the sandbox servers', () => {
  let sys: TestSystem;
  let redis: Redis;
  const servers: Record<string, Server> = {};
  const userConfig = '#cloud-config\npackages:\n  - htop\n';

  before(async () => {
    sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 100, otherDelayMs: 50, env: { AUTH_USERS: `viewer1:viewer:${bcrypt.hashSync('viewer-password-1', 4)}:production` } });
    redis = new Redis(sys.redis.url);
    // Two clouds: one operation may span them, and Vultr hands back the user_data it was given.
    const { plan, zone } = PROVIDER_REQUESTS.vultr;
    const creates = [
      await sys.createServer({ hostname: 'web-01' }),
      await sys.createServer({ hostname: 'web-02', provider: 'vultr', plan, zone, user_data: userConfig }),
    ];
    for (const op of creates) {
      const done = await sys.waitForStatus(op.id, ['completed', 'failed'], 30000);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      const server = done.result!.server as Server;
      servers[server.hostname] = server;
    }
  });
  after(async () => {
    redis?.disconnect();
    await sys?.stop();
  });

  const install = (body: Record<string, unknown>) => sys.request('POST', '/v1/taskservs/create', { body: { workspace: 'production', check_mode: false, ...body } });
  const logOf = async (id: string) => (await new OperationLog(redis, new Keys(sys.config.keyPrefix), id).read(0, 10000)).entries;
  const commandsFor = (marker: string) => sys.sandbox.ssh!.commands().filter((c) => c.script.includes(marker));

  test('every server the engine creates carries its key, the user\'s own cloud-config kept beside it', async () => {
    const vultr = sys.adapters.get('vultr')!;
    const [made] = (await vultr.listServers({})).filter((s) => s.name === 'web-02');
    const res = await http(sys.config.providers.vultr!.baseUrl, 'GET', `/instances/${made!.providerId}/user-data`, { token: sys.config.providers.vultr!.token });
    const userData = Buffer.from(res.body.user_data.data, 'base64').toString('utf8');
    assert.match(userData, /^Content-Type: multipart\/mixed/);
    assert.ok(userData.includes(userConfig), 'the user\'s cloud-config is a part of its own, unchanged');
    assert.match(userData, /ssh_authorized_keys:\n {2}- ssh-ed25519 AAAA\S+ provisioning-engine/);
    assert.match(userData, /Merge-Type: list\(append\)/);
  });

  test('the catalogue lists the installable services with their parameter schemas', async () => {
    const res = await sys.request('GET', '/v1/taskservs/catalog');
    assert.equal(res.status, 200);
    const names = res.body.map((s: { name: string }) => s.name);
    for (const name of ['kubernetes', 'containerd', 'docker', 'postgres', 'nginx', 'hello']) assert.ok(names.includes(name), name);
    const k8s = res.body.find((s: { name: string }) => s.name === 'kubernetes');
    assert.equal(k8s.version, '1.28.0');
    assert.equal(k8s.parameters.properties.version.default, '1.28.0');
  });

  let nginxId = '';
  test('nginx installs on both servers by hostname; each ran the script and its output is in the log', async () => {
    const res = await install({ name: 'nginx', servers: ['web-01', 'web-02'], config: { version: '1.26.2' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.type, 'taskserv.create');
    assert.equal(res.body.status, 'pending');
    const done = await sys.waitForStatus(res.body.id, ['completed', 'failed'], 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    nginxId = String(done.result!.taskserv_id);
    assert.match(nginxId, /^tsk-[0-9a-f]{12}$/);

    const ran = commandsFor('# nginx 1.26.2: install');
    assert.deepEqual(ran.map((c) => c.server).sort(), [servers['web-01']!.ip_address, servers['web-02']!.ip_address].sort());
    for (const c of ran) {
      assert.equal(c.user, 'root');
      assert.equal(c.exit_code, 0);
      assert.match(c.script, /^#!\/usr\/bin\/env bash\n.*\nset -euo pipefail\n/);
      assert.ok(c.stdout.includes('nginx 1.26.2: running'));
    }

    const log = await logOf(done.id);
    for (const host of ['web-01', 'web-02']) {
      assert.ok(log.some((e) => e.source === host && e.stream === 'stdout' && e.line === 'nginx 1.26.2: installing'), `${host} installing`);
      assert.ok(log.some((e) => e.source === host && e.stream === 'stdout' && e.line === 'nginx 1.26.2: running'), `${host} running`);
    }
    assert.deepEqual(log.map((e) => e.index), log.map((_, i) => i));

    const list = await sys.request('GET', '/v1/taskservs');
    assert.equal(list.status, 200);
    const listed = list.body.find((t: { id: string }) => t.id === nginxId);
    assert.equal(listed.name, 'nginx');
    assert.equal(listed.version, '1.26.2');
    assert.equal(listed.status, 'running');
    assert.deepEqual([...listed.servers].sort(), ['web-01', 'web-02']);
    assert.equal(listed.workspace, 'production');
    assert.equal((await sys.request('GET', `/v1/taskservs/${nginxId}`)).body.operation_id, done.id);
  });

  test('DELETE runs the remove script on every server and forgets the service', async () => {
    const res = await sys.request<Operation>('DELETE', `/v1/taskservs/${nginxId}`, { body: { workspace: 'production', taskserv_id: nginxId } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.type, 'taskserv.delete');
    const done = await sys.waitForStatus(res.body.id, ['completed', 'failed'], 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const ran = commandsFor('# nginx 1.26.2: remove');
    assert.deepEqual(ran.map((c) => c.server).sort(), [servers['web-01']!.ip_address, servers['web-02']!.ip_address].sort());
    assert.ok(ran.every((c) => c.exit_code === 0 && c.stdout.includes('nginx: removed')));
    assert.equal((await sys.request('GET', `/v1/taskservs/${nginxId}`)).status, 404);
    assert.equal((await sys.request('DELETE', `/v1/taskservs/${nginxId}`)).status, 404);
  });

  test('a script that fails fails the operation, naming the server, its exit code and last output', async () => {
    const res = await install({ name: 'hello', servers: [servers['web-01']!.id], config: { message: 'SANDBOX_FAIL on purpose', path: '/tmp/pe-fail.txt' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const done = await sys.waitForStatus(res.body.id, ['completed', 'failed'], 30000);
    assert.equal(done.status, 'failed');
    assert.equal(done.error!.code, 'TASKSERV_SCRIPT_FAILED');
    assert.match(done.error!.message, /web-01 \(\d+\.\d+\.\d+\.\d+\): the install script of hello 1\.0 exited with code 1/);
    assert.match(done.error!.message, /simulated failure/);
    const id = String(done.target!.taskserv_id);
    assert.equal((await sys.request('GET', `/v1/taskservs/${id}`)).body.status, 'failed');
    assert.ok((await logOf(done.id)).some((e) => e.source === 'web-01' && e.stream === 'stderr' && /simulated failure/.test(e.line)));

    // A failed install can still be removed: the remove script does not print the message.
    const removed = await sys.request<Operation>('DELETE', `/v1/taskservs/${id}`);
    assert.equal((await sys.waitForStatus(removed.body.id, ['completed', 'failed'])).status, 'completed');
  });

  test('bad input answers 400 naming the field and starts nothing', async () => {
    const before = (await sys.request('GET', '/v1/operations?limit=200')).body.length;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ name: 'mysql', servers: ['web-01'] }, 'name'],
      [{ name: 'nginx', servers: ['web-01', 'web-99'] }, 'servers[1]'],
      [{ name: 'nginx', servers: ['srv-000000000000'] }, 'servers[0]'],
      [{ name: 'kubernetes', servers: ['web-01'], config: { version: 'latest' } }, 'config.version'],
      [{ name: 'kubernetes', servers: ['web-01'], config: { colour: 'blue' } }, 'config.colour'],
      [{ name: 'postgres', servers: ['web-01'], config: { port: 80 } }, 'config.port'],
      [{ name: 'nginx', servers: [] }, 'servers'],
    ];
    for (const [body, field] of cases) {
      const res = await install(body);
      assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.status}`);
      assert.equal(res.body.error, 'VALIDATION_FAILED');
      assert.ok(res.body.details.some((d: { field: string }) => d.field === field), `${field} in ${JSON.stringify(res.body.details)}`);
    }
    assert.equal((await sys.request('GET', '/v1/operations?limit=200')).body.length, before, 'no operation was created');
    assert.equal((await sys.request('GET', '/v1/taskservs')).body.length, 0);
  });

  test('a viewer may look at task services but not install or remove them', async () => {
    const login = await sys.request('POST', '/v1/auth/login', { auth: false, body: { username: 'viewer1', password: 'viewer-password-1' } });
    const as = (method: string, path: string, body?: unknown) => http(sys.url, method, path, { token: login.body.token, body });
    assert.equal((await as('GET', '/v1/taskservs')).status, 200);
    assert.equal((await as('GET', '/v1/taskservs/catalog')).status, 200);
    const denied = await as('POST', '/v1/taskservs/create', { workspace: 'production', name: 'hello', servers: ['web-01'] });
    assert.equal(denied.status, 403);
    assert.match(denied.body.message, /taskserv_create/);
    assert.equal((await as('DELETE', '/v1/taskservs/tsk-000000000000')).status, 403);
  });

  test('check mode renders the script and logs in to every server, running nothing', async () => {
    const ran = sys.sandbox.ssh!.commands().length;
    const res = await install({ name: 'kubernetes', servers: ['web-01', 'web-02'], config: { role: 'control-plane' }, check_mode: true });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const done = await sys.waitForStatus(res.body.id, ['completed', 'failed'], 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const plan = done.result!.would_run as { script: string; servers: Array<{ hostname: string }> };
    assert.match(plan.script, /kubeadm init --kubernetes-version 'v1\.28\.0'/);
    assert.deepEqual(plan.servers.map((s) => s.hostname), ['web-01', 'web-02']);
    assert.equal(sys.sandbox.ssh!.commands().length, ran, 'no command ran');
    assert.equal((await sys.request('GET', '/v1/taskservs')).body.length, 0);
  });

  test('cancel while a slow script runs: the channel closes, the install is undone, the operation ends cancelled', async () => {
    const res = await install({ name: 'hello', servers: ['web-02'], config: { delay_seconds: 60, path: '/tmp/pe-slow.txt' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await sys.eventually(async () => (commandsFor('sleep 60').some((c) => !c.finished) ? true : undefined), 'the slow script to start');
    const busy = await sys.request('DELETE', `/v1/taskservs/${res.body.target.taskserv_id}`);
    assert.equal(busy.status, 409, 'one change at a time');
    assert.match(busy.body.message, new RegExp(`operation ${res.body.id}`));
    const started = Date.now();
    const cancel = await sys.request('POST', `/v1/operations/${res.body.id}/cancel`);
    assert.equal(cancel.status, 202);
    const done = await sys.waitForStatus(res.body.id, ['cancelled', 'completed', 'failed'], 20000);
    assert.equal(done.status, 'cancelled');
    assert.ok(Date.now() - started < 15000, 'did not wait for the script');
    const [slow] = commandsFor('sleep 60');
    assert.equal(slow!.finished, true);
    assert.equal(slow!.exit_code, null, 'cut short, not finished');
    assert.deepEqual(done.result!.cleaned_up, [{ resource: 'taskserv', name: 'hello', server_id: servers['web-02']!.id, hostname: 'web-02', action: 'removed' }]);
    assert.ok(commandsFor("rm -f '/tmp/pe-slow.txt'").some((c) => c.server === servers['web-02']!.ip_address && c.exit_code === 0));
    assert.equal((await sys.request('GET', `/v1/taskservs/${done.target!.taskserv_id}`)).status, 404, 'the record is gone with the install');
  });
});
