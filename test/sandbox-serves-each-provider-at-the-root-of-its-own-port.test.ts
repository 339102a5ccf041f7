/**
 * Clients that build absolute paths from the host lose the main port's provider prefix:
 * govultr resolves "/v2/instances" against its base URL, so pointed at
 * `http://127.0.0.1:PORT/vultr` it asks for `/v2/instances` and lands on the simulated
 * DigitalOcean. Each provider is therefore also served at the root of a port of its own,
 * in front of the very same simulator: one state, one set of faults, rate limits, request
 * counts and admin, two ways in. Requests below are shaped the way each official client
 * shapes them and go over real HTTP.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { basicAuth, exactRequest } from './helpers/exact-request.js';
import { type TestSandbox, withSandbox } from './sandbox-helpers.js';

const EVERY_PROVIDER = { digitalocean: 0, hetzner: 0, vultr: 0, upcloud: 0 };

/** govultr's NewRequest: base URL resolved against "/v2/…", its three headers, a JSON-encoded body with a trailing newline. */
function govultr(t: TestSandbox, base: string, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = {
    'User-Agent': 'govultr/3.32.0',
    Accept: 'application/json',
    'Content-Type': 'application/json',
    Authorization: `Bearer ${t.sandbox.token}`,
    'Accept-Encoding': 'gzip',
  };
  return exactRequest(new URL(path, base).toString(), method, headers, body === undefined ? '' : `${JSON.stringify(body)}\n`);
}

/** govultr's InstanceCreateReq as it marshals: `tags` and `block_devices` have no omitempty, so nil slices go out as null. */
const GOVULTR_CREATE = { region: 'ewr', plan: 'vc2-1c-1gb', label: 'from-govultr', tags: null, os_id: 2284, block_devices: null };

describe('sandbox: each provider also at the root of its own port', () => {
  test('govultr creates at the root of the Vultr port; the prefixed mount sees the same instance, and both follow one clock', async () => {
    await withSandbox(
      async (t) => {
        const root = t.sandbox.rootUrls.vultr!;
        assert.match(root, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.notEqual(root, t.sandbox.url);

        const created = await govultr(t, root, 'POST', '/v2/instances', GOVULTR_CREATE);
        assert.equal(created.status, 202, created.text);
        const id = created.body.instance.id;
        assert.equal(created.body.instance.label, 'from-govultr');

        const viaPrefix = await exactRequest(`${t.sandbox.baseUrls.vultr}/instances/${id}`, 'GET', { Authorization: `Bearer ${t.sandbox.token}` });
        assert.equal(viaPrefix.status, 200);
        assert.equal(viaPrefix.body.instance.label, 'from-govultr');

        t.clock.advance(60_000);
        const viaRoot = await govultr(t, root, 'GET', `/v2/instances/${id}`);
        assert.equal(viaRoot.status, 200);
        assert.equal(viaRoot.body.instance.status, 'active');
        assert.equal(viaRoot.body.instance.main_ip, (await exactRequest(`${t.sandbox.baseUrls.vultr}/instances/${id}`, 'GET', { Authorization: `Bearer ${t.sandbox.token}` })).body.instance.main_ip);

        // A delete through one way in is seen through the other.
        const deleted = await govultr(t, root, 'DELETE', `/v2/instances/${id}`);
        assert.equal(deleted.status, 204);
        const gone = await exactRequest(`${t.sandbox.baseUrls.vultr}/instances/${id}`, 'GET', { Authorization: `Bearer ${t.sandbox.token}` });
        assert.equal(gone.status, 404);
        assert.deepEqual(gone.body, { error: 'Invalid instance-id.', status: 404 });
      },
      { providerPorts: EVERY_PROVIDER },
    );
  });

  test('DigitalOcean, Hetzner and UpCloud answer their own paths at the root of their ports, from the same state', async () => {
    await withSandbox(
      async (t) => {
        const bearer = { Authorization: `Bearer ${t.sandbox.token}`, Accept: 'application/json', 'Content-Type': 'application/json' };

        // godo: base "https://api.digitalocean.com/" + "v2/droplets".
        const droplet = await exactRequest(
          new URL('v2/droplets', `${t.sandbox.rootUrls.digitalocean}/`).toString(),
          'POST',
          { ...bearer, 'User-Agent': 'godo/1.150.0' },
          JSON.stringify({ name: 'web-1', region: 'nyc3', size: 's-1vcpu-1gb', image: 'ubuntu-24-04-x64' }),
        );
        assert.equal(droplet.status, 202, droplet.text);
        const droplets = await exactRequest(`${t.sandbox.baseUrls.digitalocean}/droplets`, 'GET', bearer);
        assert.deepEqual(
          droplets.body.droplets.map((d: { id: number }) => d.id),
          [droplet.body.droplet.id],
        );

        // hcloud-go: endpoint "https://api.hetzner.cloud/v1" + "/servers".
        const server = await exactRequest(
          `${t.sandbox.rootUrls.hetzner}/v1/servers`,
          'POST',
          { ...bearer, 'User-Agent': 'hcloud-go/2.47.0' },
          JSON.stringify({ name: 'web-1', server_type: 'cx23', image: 'ubuntu-24.04', location: 'fsn1' }),
        );
        assert.equal(server.status, 201, server.text);
        const servers = await exactRequest(`${t.sandbox.baseUrls.hetzner}/servers`, 'GET', bearer);
        assert.deepEqual(
          servers.body.servers.map((s: { id: number }) => s.id),
          [server.body.server.id],
        );

        // upcloud-go-api: "https://api.upcloud.com" + "/1.3" + "/server", HTTP Basic.
        const basic = { Authorization: basicAuth('sandbox', t.sandbox.token), Accept: 'application/json', 'Content-Type': 'application/json' };
        const upcloud = await exactRequest(
          `${t.sandbox.rootUrls.upcloud}/1.3/server`,
          'POST',
          basic,
          JSON.stringify({
            server: {
              zone: 'fi-hel1',
              title: 'web-1',
              hostname: 'web-1.example.com',
              plan: '1xCPU-1GB',
              metadata: 'yes',
              storage_devices: { storage_device: [{ action: 'clone', storage: '01000000-0000-4000-8000-000030240200', title: 'disk1', size: 25, tier: 'maxiops' }] },
            },
          }),
        );
        assert.equal(upcloud.status, 202, upcloud.text);
        const upcloudServers = await exactRequest(`${t.sandbox.baseUrls.upcloud}/server`, 'GET', basic);
        assert.deepEqual(
          upcloudServers.body.servers.server.map((s: { uuid: string }) => s.uuid),
          [upcloud.body.server.uuid],
        );

        // Each port serves its own provider only: the other clouds' paths are not there.
        const elsewhere = await exactRequest(`${t.sandbox.rootUrls.upcloud}/v2/droplets`, 'GET', bearer);
        assert.equal(elsewhere.status, 404);
        const prefixed = await exactRequest(`${t.sandbox.rootUrls.vultr}/vultr/v2/instances`, 'GET', bearer);
        assert.equal(prefixed.status, 404);
        const admin = await exactRequest(`${t.sandbox.rootUrls.vultr}/_sandbox/faults`, 'GET', bearer);
        assert.equal(admin.status, 404, 'the admin API stays on the main port only');
      },
      { providerPorts: EVERY_PROVIDER },
    );
  });

  test('faults, rate limits, request counts and reset set on the main port apply at the root port too', async () => {
    await withSandbox(
      async (t) => {
        const root = t.sandbox.rootUrls.vultr!;
        // A rule written against the path a Vultr client uses matches both ways in.
        const fault = await t.admin('POST', '/faults', { body: { provider: 'vultr', method: 'GET', path: '^/v2/account$', kind: 'status', status: 503, count: 2 } });
        assert.equal(fault.status, 201, JSON.stringify(fault.body));
        const faultedAtRoot = await govultr(t, root, 'GET', '/v2/account');
        assert.equal(faultedAtRoot.status, 503);
        assert.equal(faultedAtRoot.body.status, 503);
        const faultedWithPrefix = await exactRequest(`${t.sandbox.baseUrls.vultr}/account`, 'GET', { Authorization: `Bearer ${t.sandbox.token}` });
        assert.equal(faultedWithPrefix.status, 503);
        assert.equal((await govultr(t, root, 'GET', '/v2/account')).status, 200, 'the rule was used up by the two requests');

        // One per-IP limiter: two requests at the root and one through the prefix use up three.
        t.clock.advance(5_000);
        const limited = await t.admin('POST', '/vultr/config', { body: { rateLimit: { perSecond: 3 } } });
        assert.equal(limited.status, 200, JSON.stringify(limited.body));
        assert.equal((await govultr(t, root, 'GET', '/v2/regions')).status, 200);
        assert.equal((await govultr(t, root, 'GET', '/v2/regions')).status, 200);
        assert.equal((await exactRequest(`${t.sandbox.baseUrls.vultr}/regions`, 'GET', { Authorization: `Bearer ${t.sandbox.token}` })).status, 200);
        const refused = await govultr(t, root, 'GET', '/v2/regions');
        assert.equal(refused.status, 429);
        assert.deepEqual(refused.body, { error: 'Rate limit reached - please try your request again later.', status: 429 });
        await t.admin('POST', '/vultr/config', { body: { rateLimit: false } });

        const counts = await t.admin('GET', '/requests');
        assert.equal(counts.body.vultr[t.sandbox.token].requests, 7);
        assert.equal(counts.body.vultr[t.sandbox.token].rate_limited, 1);

        const created = await govultr(t, root, 'POST', '/v2/instances', GOVULTR_CREATE);
        assert.equal(created.status, 202);
        assert.equal((await t.admin('POST', '/reset')).status, 204);
        const afterReset = await govultr(t, root, 'GET', '/v2/instances');
        assert.equal(afterReset.body.meta.total, 0);
      },
      { providerPorts: EVERY_PROVIDER },
    );
  });

  test('only the providers asked for get a port; by default none does', async () => {
    await withSandbox(
      async (t) => {
        assert.deepEqual(Object.keys(t.sandbox.rootUrls), ['vultr']);
      },
      { providerPorts: { vultr: 0 } },
    );
    await withSandbox(async (t) => {
      assert.deepEqual(t.sandbox.rootUrls, {});
    });
  });
});

describe('sandbox entry point: provider ports', () => {
  const entry = fileURLToPath(new URL('../src/sandbox/main.ts', import.meta.url));

  test('prints each provider root (on by default, "off" leaves one out) and serves govultr there', { timeout: 20_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      env: {
        ...process.env,
        SANDBOX_PORT: '0',
        SANDBOX_TOKEN: 'sbx_roottest',
        SANDBOX_HETZNER_PORT: 'off',
        SANDBOX_DIGITALOCEAN_PORT: '',
        SANDBOX_VULTR_PORT: '0',
        SANDBOX_UPCLOUD_PORT: undefined,
        SANDBOX_STATE_FILE: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 15_000);
    try {
      const printed: string[] = [];
      let ready: Record<string, string> | undefined;
      for await (const line of createInterface({ input: child.stdout })) {
        printed.push(line);
        if (line.startsWith('SANDBOX_READY ')) {
          ready = JSON.parse(line.slice('SANDBOX_READY '.length));
          break;
        }
      }
      assert.ok(ready, `no SANDBOX_READY line in:\n${printed.join('\n')}`);
      assert.equal(ready.hetznerRoot, undefined);
      for (const provider of ['digitalocean', 'vultr', 'upcloud']) {
        const root = ready[`${provider}Root`];
        assert.match(root ?? '', /^http:\/\/127\.0\.0\.1:\d+$/, provider);
        assert.ok(
          printed.some((l) => l.includes(`also at the root of its own port: ${root}`)),
          `${provider}'s root is printed:\n${printed.join('\n')}`,
        );
      }
      assert.ok(printed.some((l) => l.includes(`(API base ${ready!.vultrRoot}/v2)`)));
      assert.ok(printed.some((l) => l.includes(`(API base ${ready!.upcloudRoot}/1.3)`)));

      const account = await exactRequest(new URL('/v2/account', ready.vultrRoot).toString(), 'GET', {
        Authorization: 'Bearer sbx_roottest',
        Accept: 'application/json',
      });
      assert.equal(account.status, 200);
      assert.ok(account.body.account);

      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      assert.equal((await exited)[0], 0);
    } finally {
      clearTimeout(watchdog);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  for (const bad of ['70000', 'soon', '-1']) {
    test(`SANDBOX_VULTR_PORT=${bad} stops the entry point with a message naming it`, { timeout: 20_000 }, async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', entry], {
        env: { ...process.env, SANDBOX_PORT: '0', SANDBOX_VULTR_PORT: bad },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const [code] = await once(child, 'exit');
      assert.equal(code, 2);
      assert.match(stderr, /SANDBOX_VULTR_PORT/);
    });
  }
});
