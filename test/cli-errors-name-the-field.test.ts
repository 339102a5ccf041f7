import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cliSuite, closedPort, shown, STACK_LINE, type CliResult } from './helpers/cli.js';

const CREATE = ['servers', 'create', '--provider', 'digitalocean', '--zone', 'nyc3', '--workspace', 'production'];

/** An API error: exit 5, nothing on stdout, the server's words on stderr and no stack. */
function refused(r: CliResult): void {
  assert.equal(r.code, 5, shown(r));
  assert.equal(r.stdout, '', shown(r));
  assert.doesNotMatch(r.stderr, STACK_LINE, shown(r));
  assert.match(r.stderr, /^pe: error: /, shown(r));
}

describe('errors print the server\'s message and the field it names, on stderr, without a stack', () => {
  const cli = cliSuite({ workers: 1, doActiveDelayMs: 200, doActionDelayMs: 100 });

  test('a bad hostname: the message, the code, and the field with the option it came from', async () => {
    const r = await cli.home.run([...CREATE, '--plan', 's-1vcpu-1gb', '--hostname', 'not_valid!', '-o', 'json']);
    refused(r);
    assert.match(r.stderr, /^pe: error: hostname: must match .* \(VALIDATION_FAILED, HTTP 400\)$/m);
    assert.match(r.stderr, /^  hostname \(--hostname\): must match \^/m);
  });

  test('a plan the catalogue does not know, and a bad tag, name their options', async () => {
    const plan = await cli.home.run([...CREATE, '--plan', 'no-such-plan', '--hostname', 'ok-01']);
    refused(plan);
    assert.match(plan.stderr, /^  plan \(--plan\): .*no-such-plan|^  plan \(--plan\): /m, shown(plan));

    const tag = await cli.home.run([...CREATE, '--plan', 's-1vcpu-1gb', '--hostname', 'ok-02', '--tag', 'has space']);
    refused(tag);
    assert.match(tag.stderr, /^  tags\[0\] \(--tag\): must match/m);
  });

  test('query and path fields: --limit past the maximum, an id that is not one', async () => {
    const limit = await cli.home.run(['ops', 'list', '--limit', '500']);
    refused(limit);
    assert.match(limit.stderr, /^  query\.limit \(--limit\): must be <= 200$/m);
    const id = await cli.home.run(['ops', 'get', 'not-an-id']);
    refused(id);
    assert.match(id.stderr, /^  path\.id \(<id>\): must be a valid uuid$/m);
  });

  test('a conflict says why: cancelling a finished operation shows how it ended', async () => {
    const op = await cli.sys.createServer({ hostname: 'done-01' });
    await cli.sys.waitForStatus(op.id, ['completed']);
    const r = await cli.home.run(['ops', 'cancel', op.id]);
    refused(r);
    assert.match(r.stderr, /HTTP 409/);
    assert.match(r.stderr, /^  status: completed$/m);
  });

  test('an unreachable API is one line naming the URL', async () => {
    const port = await closedPort();
    const r = await cli.home.run(['servers', 'list', '--url', `http://127.0.0.1:${port}`]);
    refused(r);
    assert.equal(r.stderr, `pe: error: cannot reach http://127.0.0.1:${port}: connection refused\n`);
  });
});
