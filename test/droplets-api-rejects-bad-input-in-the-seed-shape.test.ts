import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';
import { allOperations, createMember, type Member } from './helpers/tenants.js';

const GOOD = { name: 'web-server-01', image: 'ubuntu-22-04', plan_id: 's-2vcpu-2gb', region: 'nyc1' };

/** The `loc`s of a 422's detail list. */
function locs(body: { detail: Array<{ loc: string[] }> }): string[] {
  return body.detail.map((d) => d.loc.join('.'));
}

describe('the droplets API refuses bad input in the {"detail": …} shape and changes nothing', () => {
  let sys: TestSystem;
  let viewer: Member;
  let dropletId: string;

  before(async () => {
    sys = await TestSystem.start({ workers: 1 });
    viewer = await createMember(sys, 'vera', 'viewer', ['staging']);
    const made = await sys.request('POST', '/api/v1/droplets', { body: { ...GOOD, project_id: 'production' } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    dropletId = made.body.id;
    await sys.waitForStatus(made.body.operation_id, ['completed']);
  });

  after(async () => {
    await sys?.stop();
  });

  test('no credentials, or a bad token: 401 Could not validate credentials', async () => {
    const none = await sys.request('GET', '/api/v1/droplets', { auth: false });
    assert.equal(none.status, 401);
    assert.deepEqual(none.body, { detail: 'Could not validate credentials' });
    const bad = await sys.request('POST', '/api/v1/droplets', { auth: false, body: GOOD, headers: { authorization: 'Bearer not-a-token' } });
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.body, { detail: 'Could not validate credentials' });
  });

  test('bad fields: 422 with {type, loc, msg} naming each, in the seed\'s field names', async () => {
    const before = (await allOperations(sys)).length;

    const missing = await sys.request('POST', '/api/v1/droplets', { body: { image: 'ubuntu-22-04' } });
    assert.equal(missing.status, 422);
    for (const field of ['body.name', 'body.plan_id', 'body.region']) assert.ok(locs(missing.body).includes(field), `${field} in ${JSON.stringify(missing.body)}`);
    assert.equal(missing.body.detail[0].type, 'missing');
    assert.equal(typeof missing.body.detail[0].msg, 'string');

    const unknownPlan = await sys.request('POST', '/api/v1/droplets', { body: { ...GOOD, plan_id: 's-99vcpu-1tb' } });
    assert.equal(unknownPlan.status, 422, JSON.stringify(unknownPlan.body));
    assert.deepEqual(locs(unknownPlan.body), ['body.plan_id']);
    assert.match(unknownPlan.body.detail[0].msg, /s-99vcpu-1tb/);

    const unknownRegion = await sys.request('POST', '/api/v1/droplets', { body: { ...GOOD, region: 'mars1' } });
    assert.equal(unknownRegion.status, 422);
    assert.ok(locs(unknownRegion.body).includes('body.region'), JSON.stringify(unknownRegion.body));

    const unknownImage = await sys.request('POST', '/api/v1/droplets', { body: { ...GOOD, image: 'templeos-5' } });
    assert.equal(unknownImage.status, 422);
    assert.deepEqual(locs(unknownImage.body), ['body.image']);

    const badName = await sys.request('POST', '/api/v1/droplets', { body: { ...GOOD, name: 'no spaces please' } });
    assert.equal(badName.status, 422);
    assert.deepEqual(locs(badName.body), ['body.name']);

    const volumes = await sys.request('POST', '/api/v1/droplets', { body: { ...GOOD, volume_ids: ['vol_1'] } });
    assert.equal(volumes.status, 422);
    assert.deepEqual(locs(volumes.body), ['body.volume_ids']);
    assert.match(volumes.body.detail[0].msg, /volume/);

    const unknownField = await sys.request('POST', '/api/v1/droplets', { body: { ...GOOD, size: 'big' } });
    assert.equal(unknownField.status, 422);

    const notJson = await sys.request('POST', '/api/v1/droplets', { body: '{"name": ', headers: { 'content-type': 'application/json' } });
    assert.equal(notJson.status, 422);
    assert.equal(notJson.body.detail[0].type, 'json_invalid');

    const badAction = await sys.request('POST', `/api/v1/droplets/${dropletId}/actions`, { body: { type: 'explode' } });
    assert.equal(badAction.status, 422);
    assert.deepEqual(locs(badAction.body), ['body.type']);

    const badResize = await sys.request('PATCH', `/api/v1/droplets/${dropletId}`, { body: { plan_id: 'nope-plan' } });
    assert.equal(badResize.status, 422);
    assert.deepEqual(locs(badResize.body), ['body.plan_id']);

    const badId = await sys.request('GET', '/api/v1/droplets/srv-0123456789ab');
    assert.equal(badId.status, 422);
    assert.deepEqual(locs(badId.body), ['path.id']);

    const badQuery = await sys.request('GET', '/api/v1/droplets?project_id=NOT%20A%20PROJECT');
    assert.equal(badQuery.status, 422);
    assert.deepEqual(locs(badQuery.body), ['query.project_id']);

    assert.equal((await allOperations(sys)).length, before, 'nothing was submitted');
  });

  test('an unknown droplet or project: 404 with a detail message', async () => {
    const unknown = await sys.request('GET', '/api/v1/droplets/dpl_0123456789abcdef0123456789abcdef');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.detail, 'Droplet dpl_0123456789abcdef0123456789abcdef not found');
    const del = await sys.request('DELETE', '/api/v1/droplets/dpl_0123456789ab');
    assert.equal(del.status, 404);
    const project = await sys.request('POST', '/api/v1/droplets', { body: { ...GOOD, project_id: 'nosuchproject' } });
    assert.equal(project.status, 404);
    assert.match(project.body.detail, /nosuchproject/);
  });

  test('permissions are per project: 403 Not enough permissions, and what a caller may not see is not found', async () => {
    const create = await viewer.request('POST', '/api/v1/droplets', { body: { ...GOOD, project_id: 'staging' } });
    assert.equal(create.status, 403);
    assert.deepEqual(create.body, { detail: 'Not enough permissions' });

    const hidden = await viewer.request('GET', `/api/v1/droplets/${dropletId}`);
    assert.equal(hidden.status, 404);
    // A viewer may delete nowhere: refused before anything is looked up.
    const hiddenDelete = await viewer.request('DELETE', `/api/v1/droplets/${dropletId}`);
    assert.equal(hiddenDelete.status, 403);
    assert.deepEqual(hiddenDelete.body, { detail: 'Not enough permissions' });

    const list = await viewer.request('GET', '/api/v1/droplets');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body, []);
    const still = await sys.request('GET', `/api/v1/droplets/${dropletId}`);
    assert.equal(still.body.status, 'running');
  });

  test('the console refuses an Idempotency-Key, whose answer could not be replayed', async () => {
    const res = await sys.request('POST', `/api/v1/droplets/${dropletId}/console`, { headers: { 'Idempotency-Key': 'k1' } });
    assert.equal(res.status, 422);
    assert.deepEqual(locs(res.body), ['body.header.Idempotency-Key']);
  });
});
