import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { HostKeyPolicy } from '../src/core/ssh/host-key-pins.js';
import { withEngineKey } from '../src/core/ssh/cloud-init.js';
import { generateEd25519Key } from '../src/core/ssh/ed25519-key.js';
import { SshRunner } from '../src/core/ssh/runner.js';
import { startSandbox } from '../src/sandbox/server.js';
import { simulateScript } from '../src/sandbox/ssh-script.js';
import { call } from './sandbox-helpers.js';
import { rejectsWith } from './helpers/rejects-with.js';
import { createActiveDroplet, VALID_DROPLET, withSandbox, type TestSandbox } from './sandbox-helpers.js';

/** Remembers the first key per server, like the engine's pins, without Redis. */
function memoryPins(): HostKeyPolicy {
  const pinned = new Map<string, string>();
  return {
    check: async (server, fingerprint) => {
      const known = pinned.get(server);
      if (known === undefined) pinned.set(server, fingerprint);
      if (known === undefined || known === fingerprint) return { ok: true, fingerprint, firstUse: known === undefined };
      return { ok: false, fingerprint, pinned: known };
    },
  };
}

const keyPair = () => generateEd25519Key('test');

function runnerFor(t: Pick<TestSandbox, 'sandbox'>, privateKey: string, pins = memoryPins()): SshRunner {
  return new SshRunner({ privateKey, user: 'root', endpointOverride: t.sandbox.sshEndpoint, pins, connectTimeoutMs: 5000, connectAttempts: 1 });
}

const publicIp = (droplet: any): string => droplet.networks.v4.find((n: { type: string }) => n.type === 'public').ip_address;

describe("the sandbox's SSH host stands in for every simulated server", () => {
  test('a server created with a key in its cloud-config lets that key in; the command is recorded for that server', () =>
    withSandbox(async (t) => {
      const key = keyPair();
      const droplet = await createActiveDroplet(t, { user_data: withEngineKey('#!/bin/sh\necho hi\n', key.publicKey) });
      const lines: Array<[string, string]> = [];
      const target = { label: 'web-1', address: publicIp(droplet), pinKey: 'srv-1' };
      const result = await runnerFor(t, key.privateKey).run(target, "echo 'hello there'\necho oops >&2\nif false; then\n  echo 'not this'\nfi\nexit 3\necho 'nor this'\n", {
        onLine: (stream, line) => lines.push([stream, line]),
      });
      assert.equal(result.exitCode, 3);
      assert.deepEqual(lines, [['stdout', 'hello there'], ['stderr', 'oops']]);
      const [record] = t.sandbox.ssh!.commands();
      assert.equal(record!.server, target.address);
      assert.equal(record!.user, 'root');
      assert.equal(record!.exit_code, 3);
      assert.match(record!.script, /^echo 'hello there'\n/);

      const listed = await t.admin('GET', '/ssh/commands');
      assert.equal(listed.status, 200);
      assert.equal(listed.body.commands.length, 1);
      assert.equal((await t.admin('GET', '/ssh/commands', { token: 'nope' })).status, 401);
    }));

  test('keys no accepted create carried are refused, and so is a user name that names no server', () =>
    withSandbox(async (t) => {
      const known = keyPair();
      const rejected = keyPair();
      await createActiveDroplet(t, { user_data: withEngineKey(undefined, known.publicKey) });
      const refused = await t.doApi('POST', '/droplets', { body: { ...VALID_DROPLET, size: 'no-such-size', user_data: withEngineKey(undefined, rejected.publicKey) } });
      assert.equal(refused.status, 422);
      const target = { label: 'web-1', address: '198.18.0.2', pinKey: 'srv-1' };

      for (const privateKey of [keyPair().privateKey, rejected.privateKey]) {
        const err = await rejectsWith(runnerFor(t, privateKey).run(target, 'true'));
        assert.equal((err as { code?: string }).code, 'SSH_AUTH_FAILED');
      }
      const noServer = new SshRunner({ privateKey: known.privateKey, user: 'root', endpointOverride: null, pins: memoryPins(), connectTimeoutMs: 5000, connectAttempts: 1 });
      const err = await rejectsWith(noServer.run({ ...target, address: t.sandbox.sshEndpoint!.host, port: t.sandbox.sshEndpoint!.port }, 'true'));
      assert.equal((err as { code?: string }).code, 'SSH_AUTH_FAILED');
      assert.equal(t.sandbox.ssh!.commands().length, 0);
    }));

  test('with a state file, a restarted sandbox keeps its host key and the keys its servers took', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pe-sandbox-ssh-'));
    const stateFile = join(dir, 'state.json');
    const key = keyPair();
    const pins = memoryPins();
    const target = { label: 'web-1', address: '198.18.0.2', pinKey: 'srv-1' };
    try {
      const first = await startSandbox({ stateFile, digitalocean: { activeDelayMs: 0 } });
      try {
        const created = await call(`${first.digitaloceanBaseUrl}/droplets`, 'POST', first.token, { body: { ...VALID_DROPLET, user_data: withEngineKey(undefined, key.publicKey) } });
        assert.equal(created.status, 202);
        assert.equal((await runnerFor({ sandbox: first }, key.privateKey, pins).run(target, 'exit 0')).exitCode, 0);
      } finally {
        await first.close();
      }
      const second = await startSandbox({ stateFile });
      try {
        // The same pins: a new host key would be refused as a mismatch.
        assert.equal((await runnerFor({ sandbox: second }, key.privateKey, pins).run(target, 'exit 5')).exitCode, 5);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('how the simulated servers answer a script', () => {
  const run = async (script: string) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await simulateScript(script, { stdout: (l) => out.push(l), stderr: (l) => err.push(l), signal: new AbortController().signal });
    return { code, out, err };
  };

  test('top-level echo prints, file redirects and branches do not, exit ends it', async () => {
    const r = await run([
      'set -euo pipefail',
      "echo 'installing x 1.0'",
      'echo "deb [arch=$(dpkg --print-architecture)] https://example.org stable" > /etc/apt/sources.list.d/x.list',
      "command -v apt-get >/dev/null || { echo 'needs apt' >&2; exit 1; }",
      'if [ "$(x --version 2>/dev/null | awk \'{print $3}\')" != \'v1\' ]; then',
      "  echo 'inside a branch'",
      '  exit 4',
      'fi',
      "echo 'it'\\''s done'",
    ].join('\n'));
    assert.deepEqual(r, { code: 0, out: ['installing x 1.0', "it's done"], err: [] });
  });

  test('the failure marker fails the script with exit code 1', async () => {
    const r = await run("echo 'before'\nprintf '%s\\n' 'SANDBOX_FAIL please' > /tmp/x\necho 'after'\n");
    assert.equal(r.code, 1);
    assert.deepEqual(r.out, ['before']);
    assert.match(r.err[0]!, /simulated failure/);
  });

  test('sleep takes its time and stops when the client hangs up', async () => {
    const hangUp = new AbortController();
    const started = Date.now();
    const running = simulateScript('sleep 30\necho never', { stdout: () => assert.fail('printed after hang-up'), stderr: () => undefined, signal: hangUp.signal });
    setTimeout(() => hangUp.abort(), 50);
    assert.equal(await running, null);
    assert.ok(Date.now() - started < 5000);
  });
});
