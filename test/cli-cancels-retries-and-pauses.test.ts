import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configureSandbox, DELETE_PATH } from './helpers/cancel-cases.js';
import { cliSuite, shown } from './helpers/cli.js';

const CREATE = ['servers', 'create', '--provider', 'digitalocean', '--plan', 's-1vcpu-1gb', '--zone', 'nyc3', '--workspace', 'production'];
const GRACE_MS = 1000;

describe('pe intake, ops cancel-matching, ops cancel --force and ops retry', () => {
  const cli = cliSuite({ workers: 1, doActiveDelayMs: 300, doActionDelayMs: 200, env: { FORCE_CANCEL_GRACE_MS: String(GRACE_MS) } });

  test('a paused workspace holds new work pending; cancel-matching finds it (dry run first); resume; retry runs it again', async () => {
    const pause = await cli.home.run(['intake', 'pause', '--workspace', 'production', '--reason', 'maintenance window']);
    assert.equal(pause.code, 0, shown(pause));
    assert.match(pause.stdout, /paused workspace production: maintenance window/);
    const list = await cli.home.run(['intake', 'list', '-o', 'json']);
    assert.equal(list.code, 0, shown(list));
    assert.ok(JSON.parse(list.stdout).some((p: { scope: string; name: string }) => p.scope === 'workspace' && p.name === 'production'));

    // Held: the wait times out with the pause as its progress.
    const held = await cli.home.run([...CREATE, '--hostname', 'held-01', '--wait', '--timeout', '1s']);
    assert.equal(held.code, 4, shown(held));
    assert.match(held.stdout, /pending\s+intake paused for workspace production: maintenance window/);
    const id = /server\.create (\S+)/.exec(held.stdout)![1]!;

    const dry = await cli.home.run(['ops', 'cancel-matching', '--workspace', 'production', '--status', 'pending', '--dry-run', '-o', 'json']);
    assert.equal(dry.code, 0, shown(dry));
    const counted = JSON.parse(dry.stdout);
    assert.equal(counted.dry_run, true);
    assert.equal(counted.matched, 1);
    assert.deepEqual(counted.ids, [id]);
    assert.equal((await cli.sys.request('GET', `/v1/operations/${id}`)).body.status, 'pending', 'a dry run changes nothing');

    const real = await cli.home.run(['ops', 'cancel-matching', '--workspace', 'production', '--status', 'pending']);
    assert.equal(real.code, 0, shown(real));
    assert.match(real.stdout, /^cancelled\s+1$/m);
    assert.match(real.stdout, new RegExp(`^  ${id}$`, 'm'));
    assert.equal((await cli.home.run(['ops', 'wait', id])).code, 3, 'it ended cancelled');

    const resume = await cli.home.run(['intake', 'resume', '--workspace', 'production']);
    assert.equal(resume.code, 0, shown(resume));
    assert.match(resume.stdout, /resumed workspace production/);

    const retry = await cli.home.run(['ops', 'retry', id, '--wait']);
    assert.equal(retry.code, 0, shown(retry));
    assert.match(retry.stdout, /^hostname\s+held-01$/m);
    const original = await cli.home.run(['ops', 'get', id, '-o', 'json']);
    const retriedBy = JSON.parse(original.stdout).retried_by;
    assert.match(retriedBy, /^[0-9a-f-]{36}$/);
    const again = await cli.home.run(['ops', 'get', retriedBy]);
    assert.match(again.stdout, new RegExp(`^retry of\\s+${id}$`, 'm'));

    const twice = await cli.home.run(['ops', 'retry', id]);
    assert.equal(twice.code, 5, shown(twice));
    assert.match(twice.stderr, /OPERATION_ALREADY_RETRIED, HTTP 409/);
  });

  test('--force is refused until a normal cancel has had its grace, then ends the operation cancelled at once', async () => {
    // A boot that never ends within the test: only the forced cancel ends it.
    await configureSandbox(cli.sys, 'digitalocean', { activeDelayMs: 120000 });
    const stuck = cli.sys.sandbox.faults.add({ provider: 'digitalocean', method: 'DELETE', path: DELETE_PATH.digitalocean, kind: 'status', status: 503 });
    try {
      const start = await cli.home.run([...CREATE, '--hostname', 'forced-01', '-o', 'json']);
      const id = JSON.parse(start.stdout).id as string;
      await cli.sys.eventually(async () => ((await cli.sys.droplets(`&tag_name=pe-op:${id}`))[0] ? true : undefined), 'the droplet to exist');

      const early = await cli.home.run(['ops', 'cancel', id, '--force']);
      assert.equal(early.code, 5, shown(early));
      assert.match(early.stderr, /FORCE_CANCEL_NOT_YET, HTTP 409/);
      assert.match(early.stderr, /^  allowed_at: null$/m);

      const asked = await cli.home.run(['ops', 'cancel', id]);
      assert.equal(asked.code, 0, shown(asked));
      assert.match(asked.stdout, /cancel requested/);
      const shownOp = JSON.parse((await cli.home.run(['ops', 'get', id, '-o', 'json'])).stdout);
      assert.ok(shownOp.cancel_requested_at, 'the cancel is recorded');
      assert.equal(typeof shownOp.actions.force_cancel, 'boolean', 'the record says whether it may be forced');

      await new Promise((r) => setTimeout(r, GRACE_MS + 200));
      const forced = await cli.home.run(['ops', 'cancel', id, '--force', '--wait']);
      assert.equal(forced.code, 3, shown(forced));
      assert.match(forced.stdout, /cancelled after/);
    } finally {
      cli.sys.sandbox.faults.remove(stuck);
      await configureSandbox(cli.sys, 'digitalocean', { activeDelayMs: 300 });
    }
  });
});
