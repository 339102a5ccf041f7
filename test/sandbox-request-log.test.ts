import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VALID_DROPLET, withSandbox } from './sandbox-helpers.js';

/** Waits until the sandbox has settled the entry (the client may have given up before it did). */
async function eventually<T>(read: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('timed out');
}

describe('the request log: every mutating request a provider received', () => {
  test('creates, actions and deletes are logged in order with their status and body; reads are not', () =>
    withSandbox(async (t) => {
      const empty = await t.admin('GET', '/requests/log');
      assert.equal(empty.status, 200);
      assert.deepEqual(empty.body, { entries: [], last: 0, dropped: 0 });

      const created = await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, tags: ['pe-op:abc'], user_data: '#cloud-config\n' } });
      assert.equal(created.status, 202);
      const id = created.body.droplet.id as number;
      await t.doApi('GET', `/droplets/${id}`);
      t.clock.advance(5000);
      assert.equal((await t.doApi('POST', `/droplets/${id}/actions`, { body: { type: 'reboot' } })).status, 201);
      assert.equal((await t.doApi('POST', `/droplets/${id}/actions`, { body: { type: 'explode' } })).status, 422);
      assert.equal((await t.doApi('DELETE', `/droplets/${id}?x=1`)).status, 204);

      const log = await t.admin('GET', '/requests/log');
      assert.equal(log.status, 200);
      const entries = log.body.entries as any[];
      assert.deepEqual(
        entries.map((e) => [e.seq, e.provider, e.method, e.path, e.status, e.delivered]),
        [
          [1, 'digitalocean', 'POST', '/v2/droplets', 202, true],
          [2, 'digitalocean', 'POST', `/v2/droplets/${id}/actions`, 201, true],
          [3, 'digitalocean', 'POST', `/v2/droplets/${id}/actions`, 422, true],
          [4, 'digitalocean', 'DELETE', `/v2/droplets/${id}`, 204, true],
        ],
      );
      assert.deepEqual(entries[0].body.tags, ['pe-op:abc']);
      assert.equal('user_data' in entries[0].body, false, 'user data is left out');
      assert.deepEqual(entries[1].body, { type: 'reboot' });
      assert.equal(entries[3].query, 'x=1');
      assert.equal(entries[1].at - entries[0].at, 5000, 'arrival times are on the sandbox clock');
      assert.equal(log.body.last, 4);

      const rest = await t.admin('GET', '/requests/log?after=2&limit=1');
      assert.deepEqual(rest.body.entries.map((e: any) => e.seq), [3]);
      assert.equal(rest.body.last, 3);
      assert.deepEqual((await t.admin('GET', '/requests/log?after=4')).body.entries, []);
      assert.equal((await t.admin('GET', '/requests/log?after=-1')).status, 400);
      assert.equal((await t.admin('GET', '/requests/log', { token: 'wrong' })).status, 401);

      assert.equal((await t.admin('POST', '/reset')).status, 204);
      assert.deepEqual((await t.admin('GET', '/requests/log')).body.entries, []);
    }));

  test('faults: an injected status is logged as answered, a hung request as unanswered, a held answer as undelivered', () =>
    withSandbox(async (t) => {
      t.sandbox.faults.add({ method: 'POST', path: '^/v2/droplets$', kind: 'status', status: 503, count: 1 });
      assert.equal((await t.doApi('POST', '/droplets', { body: VALID_DROPLET })).status, 503);

      t.sandbox.faults.add({ method: 'POST', path: '^/v2/droplets$', kind: 'timeout', count: 1 });
      await assert.rejects(t.doApi('POST', '/droplets', { body: VALID_DROPLET, signal: AbortSignal.timeout(200) }));

      t.sandbox.faults.add({ method: 'POST', path: '^/v2/droplets$', kind: 'slow_response', latencyMs: 5000, count: 1 });
      await assert.rejects(t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, name: 'held' }, signal: AbortSignal.timeout(200) }));

      const entries = await eventually(async () => {
        const got = (await t.admin('GET', '/requests/log')).body.entries as any[];
        return got.length === 3 && got[2].body !== null ? got : undefined;
      });
      assert.deepEqual(
        entries.map((e) => [e.status, e.delivered]),
        [
          [503, true],
          [null, false],
          [202, false],
        ],
      );
      const list = await t.doApi('GET', '/droplets');
      assert.deepEqual(list.body.droplets.map((d: any) => d.name), ['held'], 'only the held create took effect');
    }));
});
