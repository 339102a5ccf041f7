import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';
import { createMember, type Member } from './helpers/tenants.js';

const BASE = '/v1/workspaces/production/webhooks';
const GOOD = { url: 'https://203.0.113.10/hooks', events: ['operation.completed', 'drift.found'] };

describe('webhook subscriptions validate their input and keep their secret', () => {
  let sys: TestSystem;
  let developer: Member;
  let operator: Member;

  // WEBHOOK_ALLOW_PRIVATE_TARGETS keeps its default (false) here.
  before(async () => {
    sys = await TestSystem.start({ workers: 0 });
    developer = await createMember(sys, 'dev', 'developer', ['production']);
    operator = await createMember(sys, 'ops', 'operator', ['staging']);
  });
  after(async () => {
    await sys?.stop();
  });

  const count = async () => ((await sys.request('GET', BASE)).body as unknown[]).length;

  const refused = async (body: unknown, field: RegExp, problem: RegExp) => {
    const res = await sys.request('POST', BASE, { body });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error, 'VALIDATION_FAILED');
    assert.ok(
      (res.body.details as Array<{ field: string; problem: string }>).some((d) => field.test(d.field) && problem.test(d.problem)),
      `${JSON.stringify(res.body.details)} names ${field} with ${problem}`,
    );
  };

  test('bad URLs, unknown event types and short secrets are 400s naming the field, and change nothing', async () => {
    await refused({ ...GOOD, url: 'not a url' }, /^url$/, /http or https URL/);
    await refused({ ...GOOD, url: 'ftp://203.0.113.10/x' }, /^url$/, /http or https/);
    await refused({ ...GOOD, url: 'https://user:pw@203.0.113.10/x' }, /^url$/, /credentials/);
    await refused({ ...GOOD, events: ['operation.exploded'] }, /^events\[0\]$/, /one of/);
    await refused({ ...GOOD, events: [] }, /^events$/, /./);
    await refused({ ...GOOD, secret: 'too-short' }, /^secret$/, /16/);
    await refused({ url: GOOD.url }, /^events$/, /required/);
    await refused({ ...GOOD, colour: 'blue' }, /^colour$/, /./);
    assert.equal(await count(), 0);
  });

  test('loopback, private and link-local targets are refused unless allowed', async () => {
    for (const url of ['http://127.0.0.1:8080/x', 'http://10.1.2.3/x', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/x', 'http://localhost:3000/x', 'http://192.168.1.10/x']) {
      await refused({ ...GOOD, url }, /^url$/, /loopback|private|this machine/);
    }
    assert.equal(await count(), 0);
  });

  test('the secret is answered once, stored sealed, and never returned again', async () => {
    const secret = 'my-own-secret-0123456789';
    const made = await sys.request('POST', BASE, { body: { ...GOOD, secret } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.secret, secret);
    assert.equal(made.body.active, true);
    assert.deepEqual(made.body.events, GOOD.events);
    const id = made.body.id as string;

    const one = await sys.request('GET', `${BASE}/${id}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.url, GOOD.url);
    assert.equal('secret' in one.body, false);
    const list = await sys.request('GET', BASE);
    assert.ok(!JSON.stringify(list.body).includes(secret));

    // At rest: nothing under the test's prefix holds the secret in clear.
    const redis = sys.api.ctx.redis;
    const keys = await redis.keys(`${sys.config.keyPrefix}:webhook*`);
    assert.ok(keys.length > 0);
    for (const key of keys) {
      const type = await redis.type(key);
      const dump = type === 'hash' ? JSON.stringify(await redis.hgetall(key)) : type === 'set' ? JSON.stringify(await redis.smembers(key)) : String(await redis.get(key));
      assert.ok(!dump.includes(secret), `${key} holds the secret in clear`);
    }

    // A change with a bad URL is refused and changes nothing; a good one applies.
    const bad = await sys.request('PATCH', `${BASE}/${id}`, { body: { url: 'http://127.0.0.1/x' } });
    assert.equal(bad.status, 400);
    assert.equal((await sys.request('GET', `${BASE}/${id}`)).body.url, GOOD.url);
    const patched = await sys.request('PATCH', `${BASE}/${id}`, { body: { active: false, events: ['*'], secret: 'a-rotated-secret-0123456789' } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.active, false);
    assert.deepEqual(patched.body.events, ['*']);
    assert.equal('secret' in patched.body, false);

    const deleted = await sys.request('DELETE', `${BASE}/${id}`);
    assert.equal(deleted.status, 200);
    assert.equal((await sys.request('GET', `${BASE}/${id}`)).status, 404);
    assert.equal(await count(), 0);
  });

  test("webhook_manage is an operator's, in their own workspaces only", async () => {
    const asDeveloper = await developer.request('POST', BASE, { body: GOOD });
    assert.equal(asDeveloper.status, 403);
    // Not a member of production: the workspace is not found, as one that does not exist.
    const elsewhere = await operator.request('GET', BASE);
    assert.equal(elsewhere.status, 404);
    const own = await operator.request('POST', '/v1/workspaces/staging/webhooks', { body: GOOD });
    assert.equal(own.status, 201, JSON.stringify(own.body));
    const leaked = await sys.request('GET', `${BASE}/${own.body.id}`);
    assert.equal(leaked.status, 404, "another workspace's webhook is not found under this one");
    assert.equal((await sys.request('GET', '/v1/workspaces/nowhere/webhooks')).status, 404);
  });
});
