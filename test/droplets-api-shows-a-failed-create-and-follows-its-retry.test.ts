import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestSystem } from './helpers/system.js';

describe('a droplet whose create failed shows as error with a Warning event, and its retry is followed', () => {
  let sys: TestSystem;

  before(async () => {
    sys = await TestSystem.start({ workers: 1 });
  });

  after(async () => {
    await sys?.stop();
  });

  test('the provider refuses the create: status error, a Warning event, DELETE 409; a retry makes it run', async () => {
    const refusal = sys.sandbox.faults.add({ provider: 'digitalocean', method: 'POST', path: '^/v2/droplets$', kind: 'status', status: 422, count: 1 });
    const res = await sys.request('POST', '/api/v1/droplets', { body: { name: 'doomed-01', image: 'ubuntu-22-04', plan_id: 's-1vcpu-1gb', region: 'nyc1' } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const failed = await sys.waitForStatus(res.body.operation_id, ['failed', 'completed']);
    assert.equal(failed.status, 'failed');
    assert.equal(sys.sandbox.faults.list().find((r) => r.id === refusal)?.matched, 1);

    const d = await sys.request('GET', `/api/v1/droplets/${res.body.id}`);
    assert.equal(d.status, 200);
    assert.equal(d.body.status, 'error');
    assert.equal(d.body.server_id, null);

    const events = await sys.request('GET', `/api/v1/droplets/${res.body.id}/events`);
    const warning = events.body.find((e: { type: string }) => e.type === 'Warning');
    assert.ok(warning, JSON.stringify(events.body));
    assert.equal(warning.reason, 'server.create failed');

    const del = await sys.request('DELETE', `/api/v1/droplets/${res.body.id}`);
    assert.equal(del.status, 409);
    assert.match(del.body.detail, /never made/);

    const retry = await sys.request('POST', `/v1/operations/${res.body.operation_id}/retry`);
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    await sys.waitForStatus(retry.body.id, ['completed']);
    const followed = await sys.request('GET', `/api/v1/droplets/${res.body.id}`);
    assert.equal(followed.status, 200);
    assert.equal(followed.body.status, 'running');
    assert.equal(followed.body.name, 'doomed-01');
    assert.equal(followed.body.operation_id, retry.body.id);
  });
});
