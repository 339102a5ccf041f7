import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { http } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';

const DROPLET_ID = 7;
const RANK: Record<string, number> = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3 };

interface LogRecord {
  timestamp: string;
  level: string;
  message: string;
  droplet_id: number;
  trace_id: string | null;
  service?: string;
  operation_id?: string;
}

interface UdcEvent {
  event_id: string;
  event_type: string;
  timestamp: string;
  droplet_id: number;
  trace_id: string | null;
  details: Record<string, unknown>;
}

describe('GET /logs and GET /events show the engine\'s history', () => {
  let sys: TestSystem;
  let operatorToken = '';
  const okTrace = `ok-${randomBytes(6).toString('hex')}`;
  const failTrace = `fail-${randomBytes(6).toString('hex')}`;
  let created: { id: string; result: Record<string, unknown> | null };
  let failedId = '';

  before(async () => {
    sys = await TestSystem.start({
      workers: 1,
      env: { DROPLET_ID: String(DROPLET_ID), UDC_LOG_ENTRIES: '500', AUTH_USERS: `ops1:operator:${bcrypt.hashSync('operator-password-1', 4)}:production` },
    });
    const login = await sys.request('POST', '/v1/auth/login', { body: { username: 'ops1', password: 'operator-password-1' }, auth: false });
    operatorToken = login.body.token;

    const body = { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', zone: 'nyc3', check_mode: false, tags: ['web'] };
    const ok = await sys.request('POST', '/v1/servers/create', { headers: { 'X-Trace-Id': okTrace }, body: { ...body, hostname: 'history-ok' } });
    assert.equal(ok.status, 202);
    created = await sys.waitForStatus(ok.body.id, ['completed', 'failed']);
    assert.equal((created as { status?: string }).status, 'completed');

    // The provider refuses the next create outright: that operation fails, and its worker says so at WARNING.
    sys.sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: '^/v2/droplets$', kind: 'status', status: 422, count: 1 });
    const bad = await sys.request('POST', '/v1/servers/create', { headers: { 'X-Trace-Id': failTrace }, body: { ...body, hostname: 'history-bad' } });
    assert.equal(bad.status, 202);
    failedId = bad.body.id;
    assert.equal((await sys.waitForStatus(failedId, ['completed', 'failed'])).status, 'failed');
  });
  after(async () => {
    await sys?.stop();
  });

  const logs = (query = '') => sys.request<{ logs: LogRecord[]; total: number; droplet_id: number }>('GET', `/logs${query}`);
  const events = (query = '') => sys.request<{ events: UdcEvent[]; total: number; droplet_id: number }>('GET', `/events${query}`);

  test('/logs holds the worker\'s lines with their trace ids, newest first, in the seed\'s shape', async () => {
    const body = await sys.eventually(async () => {
      const res = await logs('?limit=1000');
      assert.equal(res.status, 200);
      const found = res.body.logs.some((l) => l.trace_id === okTrace && l.message === 'completed') && res.body.logs.some((l) => l.trace_id === failTrace && l.message === 'failed');
      return found ? res.body : undefined;
    }, 'both operations\' worker lines in /logs');
    assert.equal(body.droplet_id, DROPLET_ID);
    assert.equal(body.total, body.logs.length);
    const completed = body.logs.find((l) => l.trace_id === okTrace && l.message === 'completed')!;
    assert.equal(completed.level, 'INFO');
    assert.equal(completed.droplet_id, DROPLET_ID);
    assert.equal(completed.operation_id, created.id);
    assert.match(completed.service ?? '', /^worker-1$/);
    assert.ok(!Number.isNaN(Date.parse(completed.timestamp)));
    assert.equal(body.logs.find((l) => l.trace_id === failTrace && l.message === 'failed')!.level, 'WARNING');
    for (let i = 1; i < body.logs.length; i++) assert.ok(body.logs[i - 1]!.timestamp >= body.logs[i]!.timestamp, 'newest first');
    // Nothing secret is kept: not the provider token, not the admin password.
    const text = JSON.stringify(body);
    assert.ok(!text.includes(sys.sandbox.token) && !text.includes(sys.adminPassword));

    const two = await logs('?limit=2');
    assert.equal(two.body.logs.length, 2);
    assert.equal(two.body.total, 2);
  });

  test('/logs?level keeps that level and above, in any case', async () => {
    const warnings = await logs('?level=warning&limit=1000');
    assert.equal(warnings.status, 200);
    assert.ok(warnings.body.logs.some((l) => l.trace_id === failTrace && l.message === 'failed'));
    for (const l of warnings.body.logs) assert.ok(RANK[l.level]! >= RANK.WARNING!, `${l.level} is WARNING or above`);
    const errors = await logs('?level=ERROR');
    assert.equal(errors.status, 200);
    for (const l of errors.body.logs) assert.equal(l.level, 'ERROR');
    const info = await logs('?level=Info&limit=1000');
    assert.ok(info.body.logs.some((l) => l.level === 'INFO') && info.body.logs.some((l) => l.level === 'WARNING'));
  });

  test('/events maps the event stream to UDC events with trace ids and resources', async () => {
    const res = await events('?limit=500');
    assert.equal(res.status, 200);
    assert.equal(res.body.droplet_id, DROPLET_ID);
    assert.equal(res.body.total, res.body.events.length);
    const createdEvent = res.body.events.find((e) => e.event_type === 'cloud_resource_created' && e.details.operation_id === created.id);
    assert.ok(createdEvent, 'the completed create is cloud_resource_created');
    assert.equal(createdEvent.trace_id, okTrace);
    assert.equal(createdEvent.droplet_id, DROPLET_ID);
    assert.match(createdEvent.event_id, /^evt_\d+-\d+$/);
    assert.equal(createdEvent.details.provider, 'digitalocean');
    assert.equal(createdEvent.details.workspace, 'production');
    assert.equal(createdEvent.details.resource_id, created.result?.server_id);
    assert.ok(res.body.events.some((e) => e.event_type === 'operation_accepted' && e.details.operation_id === created.id && e.trace_id === okTrace));
    const failed = res.body.events.find((e) => e.event_type === 'operation_failed' && e.details.operation_id === failedId);
    assert.equal(failed?.trace_id, failTrace);
    for (let i = 1; i < res.body.events.length; i++) assert.ok(res.body.events[i - 1]!.event_id !== res.body.events[i]!.event_id);
    // Newest first: the failure came after the create completed.
    assert.ok(res.body.events.indexOf(failed!) < res.body.events.indexOf(createdEvent));
  });

  test('/events?event_type and limit narrow the history', async () => {
    const onlyCreated = await events('?event_type=cloud_resource_created');
    assert.equal(onlyCreated.status, 200);
    assert.ok(onlyCreated.body.events.length >= 1);
    for (const e of onlyCreated.body.events) assert.equal(e.event_type, 'cloud_resource_created');
    const one = await events('?limit=1');
    assert.equal(one.body.events.length, 1);
    assert.equal(one.body.total, 1);
  });

  test('bad queries are 422s naming the parameter; credentials and permissions are checked', async () => {
    const cases: Array<[string, string]> = [
      ['/logs?level=verbose', 'level'],
      ['/logs?level=', 'level'],
      ['/logs?limit=0', 'limit'],
      ['/logs?limit=1001', 'limit'],
      ['/logs?limit=ten', 'limit'],
      ['/logs?colour=red', 'colour'],
      ['/events?event_type=nonsense', 'event_type'],
      ['/events?limit=501', 'limit'],
      ['/events?limit=-1', 'limit'],
    ];
    for (const [path, field] of cases) {
      const res = await sys.request('GET', path);
      assert.equal(res.status, 422, `${path}: ${JSON.stringify(res.body)}`);
      assert.ok(Array.isArray(res.body.detail));
      const problem = res.body.detail.find((d: { loc: string[] }) => d.loc[0] === 'query' && d.loc[1] === field);
      assert.ok(problem, `${path} names query.${field}: ${JSON.stringify(res.body)}`);
      assert.equal(typeof problem.msg, 'string');
      assert.equal(typeof problem.type, 'string');
    }
    const unknownType = await sys.request('GET', '/events?event_type=nonsense');
    assert.match(JSON.stringify(unknownType.body), /cloud_resource_created/, 'the 422 lists the known event types');
    for (const path of ['/logs', '/events']) {
      const anonymous = await sys.request('GET', path, { auth: false });
      assert.equal(anonymous.status, 401);
      assert.deepEqual(anonymous.body, { detail: 'Could not validate credentials' });
      const operator = await http(sys.url, 'GET', path, { token: operatorToken });
      assert.equal(operator.status, 403);
      assert.deepEqual(operator.body, { detail: 'Not enough permissions' });
    }
  });
});
