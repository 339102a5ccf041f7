import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { ValidationError } from '../src/common/errors.js';
import { withEngineKey } from '../src/core/ssh/cloud-init.js';
import { remoteCommand, shQuote } from '../src/core/ssh/shell-quote.js';
import { catalogEntries, findTaskserv } from '../src/core/taskservs/catalog.js';
import { checkTaskservConfig } from '../src/core/taskservs/parameters.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKipXvjTeDOqlr2Ut10pQLdJbj/CO+c+Z1IV1+vlZ2k9 provisioning-engine';

function bashAccepts(script: string): string {
  const res = spawnSync('bash', ['-n'], { input: script });
  return res.status === 0 ? '' : res.stderr.toString();
}

describe('the task service catalogue', () => {
  for (const entry of catalogEntries()) {
    test(`${entry.name}: defaults validate and both scripts are strict, well-formed bash`, () => {
      const def = findTaskserv(entry.name)!;
      const config = checkTaskservConfig(def, {});
      assert.equal(config.version, def.version);
      for (const script of [def.install(config), def.remove(config)]) {
        assert.match(script, /^#!\/usr\/bin\/env bash\n# .+\nset -euo pipefail\n/);
        assert.equal(bashAccepts(script), '');
      }
    });
  }

  test('a bad config names each offending parameter under config.', () => {
    const kubernetes = findTaskserv('kubernetes')!;
    assert.throws(
      () => checkTaskservConfig(kubernetes, { version: '2.0', role: 'boss', colour: 'blue' }),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.deepEqual(err.problems.map((p) => p.field).sort(), ['config.colour', 'config.role', 'config.version']);
        return true;
      },
    );
    assert.throws(() => checkTaskservConfig(findTaskserv('hello')!, { path: '/tmp/../etc/passwd' }), /config\.path/);
  });

  test('rendered values cannot escape their quotes', () => {
    const nasty = `it's "$(rm -rf /)" \`x\` \\ $HOME ;|&`;
    const res = spawnSync('bash', ['-c', `printf %s ${shQuote(nasty)}`]);
    assert.equal(res.stdout.toString(), nasty);
    // The whole remote command is one bash -c with the script as its argument.
    // Its stdin stands for the SSH channel: held open (by a short sleep), as the engine holds the channel.
    const ran = spawnSync('bash', ['-c', `${remoteCommand(`printf '%s' ${shQuote(nasty)}; exit 7`, 'root')} < <(exec sleep 5 2>/dev/null)`]);
    assert.equal(ran.stdout.toString(), nasty);
    assert.equal(ran.status, 7);
  });
});

describe("the engine's key in user data", () => {
  test('no user data: a cloud-config with just the key', () => {
    assert.equal(withEngineKey(undefined, KEY), `#cloud-config\nssh_authorized_keys:\n  - ${KEY}\n`);
  });

  test("the user's cloud-config or script stays a part of its own; the key part appends to lists", () => {
    for (const [userData, type] of [
      ['#cloud-config\nssh_authorized_keys:\n  - ssh-rsa AAAAB3 me\n', 'text/cloud-config'],
      ['#!/bin/bash\necho hi\n', 'text/x-shellscript'],
      ['just some text', 'text/plain'],
    ] as const) {
      const merged = withEngineKey(userData, KEY);
      const boundary = /^Content-Type: multipart\/mixed; boundary="([^"]+)"\nMIME-Version: 1\.0\n\n/.exec(merged)?.[1];
      assert.ok(boundary, merged);
      const parts = merged.split(`--${boundary}`);
      assert.equal(parts.length, 4, 'preamble, two parts, closing');
      assert.match(parts[3]!, /^--\n$/);
      assert.ok(parts[1]!.startsWith(`\nContent-Type: ${type}; charset="utf-8"\n`), parts[1]);
      assert.ok(parts[1]!.includes(userData), 'unchanged');
      assert.match(parts[2]!, /Merge-Type: list\(append\)\+dict\(no_replace,recurse_list\)\+str\(\)\n\n#cloud-config\nssh_authorized_keys:\n {2}- ssh-ed25519 /);
    }
  });

  test('already multi-part: the key part goes in before the closing boundary', () => {
    const userData = 'Content-Type: multipart/mixed; boundary="XYZ"\nMIME-Version: 1.0\n\n--XYZ\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho hi\n--XYZ--\n';
    const merged = withEngineKey(userData, KEY);
    assert.ok(merged.startsWith('Content-Type: multipart/mixed; boundary="XYZ"\nMIME-Version: 1.0\n\n--XYZ\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho hi\n--XYZ\nContent-Type: text/cloud-config'));
    assert.ok(merged.endsWith(`- ${KEY}\n\n--XYZ--\n`), merged);
  });
});
