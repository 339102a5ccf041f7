/**
 * UpCloud API 1.2 is served beside 1.3, on the same account: what a 1.2 client creates a
 * 1.3 client sees, and the other way round. The requests are the ones the official clients
 * sent while they spoke 1.2 — upcloud-go-api (its recorded 1.2 fixtures: Accept and
 * Content-Type JSON, HTTP Basic, the create body with `ip_addresses`) and upcloud-python-api
 * (python-requests' headers, json.dumps spacing, `vnc_password`, a bodiless start) — sent
 * over real HTTP. 1.2 names: `vnc`/`vnc_password` for `remote_access_*`, `private` for the
 * utility network's addresses, no `networking`/`labels`; errors always in the legacy shape.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { basicAuth, exactRequest } from './helpers/exact-request.js';
import { type TestSandbox, withSandbox } from './sandbox-helpers.js';

/** Debian 11: a template that does not need the metadata service, which 1.2 clients never ask for. */
const DEBIAN_11 = '01000000-0000-4000-8000-000020060100';

function goHeaders(t: TestSandbox): Record<string, string> {
  return { Accept: 'application/json', 'Content-Type': 'application/json', Authorization: basicAuth('sandbox', t.sandbox.token), 'User-Agent': 'Go-http-client/1.1' };
}

function pythonHeaders(t: TestSandbox): Record<string, string> {
  return {
    'User-Agent': 'python-requests/2.24.0',
    'Accept-Encoding': 'gzip, deflate',
    Accept: '*/*',
    Connection: 'keep-alive',
    Authorization: basicAuth('sandbox', t.sandbox.token),
    'Content-Type': 'application/json',
  };
}

/** Python's json.dumps with its default separators (", " and ": "). */
function pyDumps(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pyDumps).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}: ${pyDumps(v)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value);
}

const api = (t: TestSandbox, version: string, path: string): string => `${t.sandbox.url}/upcloud/${version}${path}`;

/** The create upcloud-go-api sent to /1.2/server (its createstartstopserver fixture), on a template the sandbox has. */
const GO_CREATE_BODY =
  '{"server":{"hostname":"go-12.example.com","ip_addresses":{"ip_address":[{"access":"private","family":"IPv4"},{"access":"public","family":"IPv4"},{"access":"public","family":"IPv6"}]},' +
  `"password_delivery":"none","storage_devices":{"storage_device":[{"action":"clone","storage":"${DEBIAN_11}","title":"disk1","size":30,"tier":"maxiops"}]},"title":"go-12","zone":"fi-hel2"}}`;

describe('sandbox UpCloud: API 1.2', () => {
  test('the 1.2 Go client creates, stops, starts and deletes a server, seeing 1.2 names; 1.3 sees the same server', async () => {
    await withSandbox(async (t) => {
      const created = await exactRequest(api(t, '1.2', '/server'), 'POST', goHeaders(t), GO_CREATE_BODY);
      assert.equal(created.status, 202, created.text);
      const server = created.body.server;
      assert.equal(server.state, 'maintenance');
      assert.equal(server.title, 'go-12');
      assert.equal(server.zone, 'fi-hel2');
      assert.equal(server.vnc, 'off');
      assert.equal(typeof server.vnc_password, 'string');
      for (const only13 of ['remote_access_enabled', 'remote_access_password', 'remote_access_type', 'networking', 'labels', 'simple_backup', 'server_group']) {
        assert.equal(only13 in server, false, `${only13} is not a 1.2 field`);
      }
      const addresses: Array<{ access: string; family: string; address: string }> = server.ip_addresses.ip_address;
      assert.deepEqual(addresses.map((a) => `${a.access}/${a.family}`).sort(), ['private/IPv4', 'public/IPv4', 'public/IPv6']);
      const privateIp = addresses.find((a) => a.access === 'private')!.address;
      assert.match(privateIp, /^10\./);
      for (const a of addresses) assert.deepEqual(Object.keys(a).sort(), ['access', 'address', 'family']);

      // The same server through 1.3: 1.3 names for the same values.
      const as13 = await exactRequest(api(t, '1.3', `/server/${server.uuid}`), 'GET', goHeaders(t));
      assert.equal(as13.status, 200);
      assert.equal(as13.body.server.remote_access_password, server.vnc_password);
      assert.equal(as13.body.server.remote_access_enabled, 'no');
      assert.equal(as13.body.server.ip_addresses.ip_address.find((a: { address: string }) => a.address === privateIp).access, 'utility');
      assert.ok(as13.body.server.networking);

      t.clock.advance(60_000);
      const started = await exactRequest(api(t, '1.2', `/server/${server.uuid}`), 'GET', goHeaders(t));
      assert.equal(started.body.server.state, 'started');

      const stop = await exactRequest(api(t, '1.2', `/server/${server.uuid}/stop`), 'POST', goHeaders(t), '{"stop_server":{"stop_type":"hard","timeout":"900"}}');
      assert.equal(stop.status, 200, stop.text);
      assert.equal(stop.body.server.vnc, 'off');
      assert.equal('networking' in stop.body.server, false);
      t.clock.advance(60_000);
      assert.equal((await exactRequest(api(t, '1.2', `/server/${server.uuid}`), 'GET', goHeaders(t))).body.server.state, 'stopped');

      // The 1.2 client's start sends no body at all.
      const start = await exactRequest(api(t, '1.2', `/server/${server.uuid}/start`), 'POST', { ...goHeaders(t), 'Content-Length': '0' }, '');
      assert.equal(start.status, 200, start.text);
      assert.equal(start.body.server.state, 'started');

      await exactRequest(api(t, '1.2', `/server/${server.uuid}/stop`), 'POST', goHeaders(t), '{"stop_server":{"stop_type":"hard","timeout":"900"}}');
      t.clock.advance(60_000);
      // DeleteServerAndStoragesRequest's path, trailing slash and all.
      assert.equal((await exactRequest(api(t, '1.2', '/storage/private'), 'GET', goHeaders(t))).body.storages.storage.length, 1);
      const deleted = await exactRequest(api(t, '1.2', `/server/${server.uuid}/?storages=1`), 'DELETE', goHeaders(t));
      assert.equal(deleted.status, 204, deleted.text);
      assert.deepEqual((await exactRequest(api(t, '1.2', '/storage/private'), 'GET', goHeaders(t))).body.storages.storage, []);
      const gone = await exactRequest(api(t, '1.2', `/server/${server.uuid}`), 'GET', goHeaders(t));
      assert.equal(gone.status, 404);
      assert.equal(gone.body.error.error_code, 'SERVER_NOT_FOUND');
    });
  });

  test('the 1.2 Python client: catalogue, a custom server with its own vnc_password, listing and restart', async () => {
    await withSandbox(async (t) => {
      const headers = pythonHeaders(t);
      const zones = await exactRequest(api(t, '1.2', '/zone'), 'GET', headers);
      assert.equal(zones.status, 200);
      assert.ok(zones.body.zones.zone.some((z: { id: string }) => z.id === 'uk-lon1' || z.id === 'fi-hel1'));
      const plans = await exactRequest(api(t, '1.2', '/plan'), 'GET', headers);
      assert.equal(plans.status, 200);
      assert.ok(plans.body.plans.plan.some((p: { name: string }) => p.name === '1xCPU-1GB'));
      const templates = await exactRequest(api(t, '1.2', '/storage/template'), 'GET', headers);
      assert.equal(templates.status, 200);
      assert.ok(templates.body.storages.storage.some((s: { uuid: string }) => s.uuid === DEBIAN_11));

      // Server.prepare_post_body: mandatory fields, then the optional ones set, password_delivery "none".
      const body = {
        server: {
          hostname: 'py-12.example.com',
          zone: 'fi-hel1',
          title: 'py-12.example.com',
          storage_devices: { storage_device: [{ tier: 'maxiops', title: 'py-12.example.com OS disk', size: 10, action: 'clone', storage: DEBIAN_11 }] },
          core_number: 1,
          memory_amount: 1024,
          vnc_password: 'aabbccdd',
          password_delivery: 'none',
        },
      };
      const created = await exactRequest(api(t, '1.2', '/server'), 'POST', headers, pyDumps(body));
      assert.equal(created.status, 202, created.text);
      const uuid = created.body.server.uuid;
      assert.equal(created.body.server.vnc_password, 'aabbccdd');
      assert.equal(created.body.server.plan, 'custom');
      assert.equal(created.body.server.core_number, '1');

      const listed = await exactRequest(api(t, '1.2', '/server'), 'GET', headers);
      assert.equal(listed.status, 200);
      assert.deepEqual(
        listed.body.servers.server.map((s: { uuid: string }) => s.uuid),
        [uuid],
      );
      assert.equal('labels' in listed.body.servers.server[0], false);
      const listed13 = await exactRequest(api(t, '1.3', '/server'), 'GET', headers);
      assert.ok('labels' in listed13.body.servers.server[0], '1.3 still lists labels');

      t.clock.advance(60_000);
      const restart = await exactRequest(
        api(t, '1.2', `/server/${uuid}/restart`),
        'POST',
        headers,
        pyDumps({ restart_server: { stop_type: 'soft', timeout: '30', timeout_action: 'destroy' } }),
      );
      assert.equal(restart.status, 200, restart.text);
      assert.equal(restart.body.server.vnc_password, 'aabbccdd');
    });
  });

  test('1.2 errors are UpCloud-shaped: unknown paths, bad addresses, auth — and stay legacy when 1.3 is set to problem+json', async () => {
    await withSandbox(async (t) => {
      const set = await t.admin('POST', '/upcloud/config', { body: { errorFormat: 'problem' } });
      assert.equal(set.status, 200, JSON.stringify(set.body));

      for (const path of ['/network', '/server/0012345678/firewall_rule', '/no/such/thing']) {
        const res = await exactRequest(api(t, '1.2', path), 'GET', goHeaders(t));
        assert.equal(res.status, 404, path);
        assert.deepEqual(Object.keys(res.body), ['error'], path);
        assert.equal(typeof res.body.error.error_code, 'string');
        assert.equal(typeof res.body.error.error_message, 'string');
      }
      const unauthenticated = await exactRequest(api(t, '1.2', '/server'), 'GET', { Accept: 'application/json' });
      assert.equal(unauthenticated.status, 401);
      assert.equal(unauthenticated.body.error.error_code, 'AUTHENTICATION_FAILED');

      const badAccess = await exactRequest(
        api(t, '1.2', '/server'),
        'POST',
        goHeaders(t),
        GO_CREATE_BODY.replace('"access":"private"', '"access":"bogus"'),
      );
      assert.equal(badAccess.status, 400);
      assert.equal(badAccess.body.error.error_code, 'IP_ADDRESS_INVALID');
      assert.match(badAccess.body.error.error_message, /ip_addresses\.ip_address\[0\]\.access/);
      const none = await exactRequest(api(t, '1.2', '/server'), 'GET', goHeaders(t));
      assert.deepEqual(none.body.servers.server, [], 'a refused create makes nothing');

      const badJson = await exactRequest(api(t, '1.2', '/server'), 'POST', goHeaders(t), '{"server":');
      assert.equal(badJson.status, 400);
      assert.ok(badJson.body.error.error_code);

      // 1.3 answers in the configured format meanwhile.
      const as13 = await exactRequest(api(t, '1.3', '/no/such/thing'), 'GET', goHeaders(t));
      assert.equal(as13.status, 404);
      assert.match(String(as13.headers['content-type']), /application\/problem\+json/);
    });
  });

  test('fault rules name the version in their path; 1.2 is also served at the root of the UpCloud port', async () => {
    await withSandbox(
      async (t) => {
        const fault = await t.admin('POST', '/faults', { body: { provider: 'upcloud', path: '^/1.2/zone$', kind: 'status', status: 503 } });
        assert.equal(fault.status, 201);
        const faulted = await exactRequest(api(t, '1.2', '/zone'), 'GET', goHeaders(t));
        assert.equal(faulted.status, 503);
        assert.equal(faulted.body.error.error_code.length > 0, true);
        assert.equal((await exactRequest(api(t, '1.3', '/zone'), 'GET', goHeaders(t))).status, 200);
        await t.admin('DELETE', '/faults');

        const root = t.sandbox.rootUrls.upcloud!;
        const created = await exactRequest(`${root}/1.2/server`, 'POST', goHeaders(t), GO_CREATE_BODY);
        assert.equal(created.status, 202, created.text);
        assert.equal(created.body.server.vnc, 'off');
        const viaMainPort = await exactRequest(api(t, '1.3', `/server/${created.body.server.uuid}`), 'GET', goHeaders(t));
        assert.equal(viaMainPort.status, 200);
        const unknown = await exactRequest(`${root}/1.2/network`, 'GET', goHeaders(t));
        assert.equal(unknown.status, 404);
        assert.ok(unknown.body.error.error_code);
      },
      { providerPorts: { upcloud: 0 } },
    );
  });
});
