import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { storedOperationCount } from './helpers/stored-operations.js';
import { TestSystem } from './helpers/system.js';

const good = { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'web-01', zone: 'nyc3', check_mode: false, tags: ['web'] };

describe('bad input gets a clear error naming the field, and changes nothing', () => {
  let sys: TestSystem;
  before(async () => {
    // Hetzner is left unconfigured to see the 503.
    sys = await TestSystem.start({ workers: 0, env: { HCLOUD_TOKEN: '' } });
  });
  after(async () => {
    await sys?.stop();
  });

  async function nothingCreated() {
    assert.equal(await storedOperationCount(sys.api.ctx.redis, sys.api.ctx.keys), 0, 'no operation was created');
  }

  async function rejected(body: unknown, status: number, field: string, problem: RegExp, headers?: Record<string, string>) {
    const res = await sys.request('POST', '/v1/servers/create', { body, headers });
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.code, String(status));
    assert.ok(res.body.trace_id);
    if (field) {
      const hit = (res.body.details as Array<{ field: string; problem: string }>).find((d) => d.field === field);
      assert.ok(hit, `expected a problem for ${field}, got ${JSON.stringify(res.body.details)}`);
      assert.match(hit.problem, problem);
      assert.match(res.body.message, new RegExp(field.replace(/[[\]]/g, '\\$&')));
    }
    await nothingCreated();
    return res;
  }

  test('missing required fields are each named', async () => {
    const { hostname: _h, zone: _z, ...rest } = good;
    const res = await rejected(rest, 400, 'hostname', /is required/);
    assert.equal(res.body.error, 'VALIDATION_FAILED');
    assert.ok(res.body.details.some((d: { field: string }) => d.field === 'zone'));
  });

  test('wrong types, bad patterns and unknown fields', async () => {
    await rejected({ ...good, check_mode: 'yes' }, 400, 'check_mode', /boolean/);
    await rejected({ ...good, hostname: 'not a hostname!' }, 400, 'hostname', /must match/);
    await rejected({ ...good, workspace: 'Prod Space' }, 400, 'workspace', /must match/);
    await rejected({ ...good, tags: ['ok', 7] }, 400, 'tags[1]', /string/);
    await rejected({ ...good, colour: 'blue' }, 400, 'colour', /not a known field/);
    await rejected({ ...good, tags: ['pe-op:mine'] }, 400, 'tags[0]', /reserves/);
  });

  test('an unknown provider is named with the ones that exist', async () => {
    await rejected({ ...good, provider: 'aws' }, 400, 'provider', /one of: digitalocean, hetzner, vultr, upcloud/);
  });

  test('a provider without credentials answers 503 naming the setting', async () => {
    const res = await sys.request('POST', '/v1/servers/create', { body: { ...good, provider: 'hetzner' } });
    assert.equal(res.status, 503);
    assert.equal(res.body.error, 'PROVIDER_NOT_CONFIGURED');
    assert.match(res.body.message, /HCLOUD_TOKEN/);
    await nothingCreated();
  });

  test('a body that is not JSON, or not an object', async () => {
    const bad = await rejected('{"workspace": "production",', 400, '', /./);
    assert.equal(bad.body.error, 'INVALID_JSON');
    const text = await rejected('hello', 400, '', /./, { 'content-type': 'text/plain' });
    assert.equal(text.body.error, 'INVALID_JSON');
    await rejected([good], 400, 'body', /JSON object/);
  });

  test('bad and unknown ids', async () => {
    const malformed = await sys.request('GET', '/v1/servers/web-01/status');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.details[0].field, 'path.id');
    const unknown = await sys.request('DELETE', '/v1/servers/srv-000000000000');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error, 'SERVER_NOT_FOUND');
    const action = await sys.request('POST', '/v1/servers/srv-000000000000/actions', { body: { action: 'explode' } });
    assert.equal(action.status, 400);
    assert.equal(action.body.details[0].field, 'action');
    assert.match(action.body.details[0].problem, /reboot, power_off, power_on/);
    const op = await sys.request('GET', '/v1/operations/12345');
    assert.equal(op.status, 400);
    const route = await sys.request('GET', '/v1/nothing-here');
    assert.equal(route.status, 404);
  });

  test('bad query parameters name the parameter', async () => {
    const res = await sys.request('GET', '/v1/operations?limit=0&status=done');
    assert.equal(res.status, 400);
    const fields = res.body.details.map((d: { field: string }) => d.field).sort();
    assert.deepEqual(fields, ['query.limit', 'query.status']);
  });

});
