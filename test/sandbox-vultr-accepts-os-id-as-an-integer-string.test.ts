/**
 * The official Node client for Vultr (vultr-node) declares `os_id` as a string, so it sends
 * `"os_id":"1743"`; real Vultr takes that. These requests are built the way that client
 * builds them (base URL + `/instances`, node-fetch's default headers, `Authorization:
 * Bearer`, a JSON body holding only the parameters given, in the order the client declares
 * them) and sent over real HTTP to the sandbox.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exactRequest } from './helpers/exact-request.js';
import { type TestSandbox, withSandbox } from './sandbox-helpers.js';

/** What node-fetch sends on every request, beside what vultr-node adds. */
const NODE_FETCH_HEADERS = {
  Accept: '*/*',
  'Accept-Encoding': 'gzip,deflate',
  'User-Agent': 'node-fetch/1.0 (+https://github.com/bitinn/node-fetch)',
  Connection: 'close',
};

/** `instances.createInstance` as vultr-node sends it. */
function nodeClientCreate(t: TestSandbox, parameters: Record<string, unknown>) {
  return exactRequest(
    `${t.sandbox.baseUrls.vultr}/instances`,
    'POST',
    { ...NODE_FETCH_HEADERS, Authorization: `Bearer ${t.sandbox.token}`, 'Content-Type': 'application/json' },
    JSON.stringify(parameters),
  );
}

/** `instances.getInstance` / `listInstances`: GET with path (and query) parameters only. */
function nodeClientGet(t: TestSandbox, path: string) {
  return exactRequest(`${t.sandbox.baseUrls.vultr}${path}`, 'GET', { ...NODE_FETCH_HEADERS, Authorization: `Bearer ${t.sandbox.token}` });
}

describe('sandbox Vultr: os_id as an integer string', () => {
  test('the Node client creates an instance with os_id "1743" and reads it back as Ubuntu 22.04 (os_id 1743, a number)', async () => {
    await withSandbox(async (t) => {
      const created = await nodeClientCreate(t, {
        region: 'ewr',
        plan: 'vc2-1c-1gb',
        os_id: '1743',
        label: 'node-client-1',
        tags: ['from-node'],
        hostname: 'node-client-1',
      });
      assert.equal(created.status, 202, created.text);
      const instance = created.body.instance;
      assert.equal(instance.os_id, 1743);
      assert.equal(instance.os, 'Ubuntu 22.04 LTS x64');
      assert.equal(instance.label, 'node-client-1');
      assert.deepEqual(instance.tags, ['from-node']);
      assert.equal(instance.status, 'pending');

      const fetched = await nodeClientGet(t, `/instances/${instance.id}`);
      assert.equal(fetched.status, 200);
      assert.equal(fetched.body.instance.os_id, 1743);

      const listed = await nodeClientGet(t, '/instances?label=node-client-1');
      assert.equal(listed.status, 200);
      assert.deepEqual(
        listed.body.instances.map((i: { id: string }) => i.id),
        [instance.id],
      );
    });
  });

  test('an integer os_id (what govultr and the engine send) is still accepted', async () => {
    await withSandbox(async (t) => {
      const created = await nodeClientCreate(t, { region: 'ewr', plan: 'vc2-1c-1gb', os_id: 2284 });
      assert.equal(created.status, 202, created.text);
      assert.equal(created.body.instance.os_id, 2284);
    });
  });

  for (const [what, osId] of [
    ['a name', 'ubuntu-22.04'],
    ['a decimal', '17.43'],
    ['a signed number', '-1743'],
    ['a number with spaces', ' 1743 '],
    ['a number with a unit', '1743x'],
    ['an id no OS has', '999999'],
  ] as const) {
    test(`os_id as ${what} (${JSON.stringify(osId)}) is a 400 in Vultr's shape and creates nothing`, async () => {
      await withSandbox(async (t) => {
        const refused = await nodeClientCreate(t, { region: 'ewr', plan: 'vc2-1c-1gb', os_id: osId, label: 'refused' });
        assert.equal(refused.status, 400);
        assert.deepEqual(refused.body, { error: 'Invalid os_id.', status: 400 });

        const listed = await nodeClientGet(t, '/instances');
        assert.equal(listed.status, 200);
        assert.equal(listed.body.meta.total, 0);
      });
    });
  }

  test('os_id "0", like 0, names no OS: with no other boot source the create is refused', async () => {
    await withSandbox(async (t) => {
      const refused = await nodeClientCreate(t, { region: 'ewr', plan: 'vc2-1c-1gb', os_id: '0' });
      assert.equal(refused.status, 400);
      assert.match(refused.body.error, /exactly one of os_id, iso_id, snapshot_id, app_id, image_id/);
      assert.equal(refused.body.status, 400);
    });
  });
});
