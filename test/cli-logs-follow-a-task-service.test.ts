import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cliSuite, shown } from './helpers/cli.js';

describe('pe ops logs --follow prints the lines of a running task service until it ends', () => {
  const cli = cliSuite({ workers: 1, doActiveDelayMs: 200, doActionDelayMs: 100 });

  test('a taskserv create started with pe: its script\'s lines as they come, until the operation ends; then exit 0', async () => {
    const made = await cli.sys.createServer({ hostname: 'logs-01' });
    await cli.sys.waitForStatus(made.id, ['completed']);
    // A script that takes its time: followed while it runs, and ended by a cancel.
    const start = await cli.home.run(['taskservs', 'create', '--workspace', 'production', '--name', 'hello', '--server', 'logs-01', '--set', 'delay_seconds=60', '--set', 'message=hi', '-o', 'json']);
    assert.equal(start.code, 0, shown(start));
    const id = JSON.parse(start.stdout).id as string;

    const following = cli.home.spawn(['ops', 'logs', id, '--follow']);
    await following.waitForOutput(/\[logs-01\] hello 1\.0: writing/, 30000);
    assert.equal((await cli.sys.request('GET', `/v1/operations/${id}`)).body.status, 'running', 'the lines came while it ran');
    const cancel = await cli.home.run(['ops', 'cancel', id]);
    assert.equal(cancel.code, 0, shown(cancel));
    const r = await following.done(30000);
    assert.equal(r.code, 0, shown(r));
    assert.equal((await cli.sys.request('GET', `/v1/operations/${id}`)).body.status, 'cancelled', 'it followed the log to the end');
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(new Set(lines).size, lines.length, 'no line twice');
    assert.doesNotMatch(r.stdout, /hello 1\.0: wrote/);

    const all = await cli.home.run(['ops', 'logs', id, '-o', 'json']);
    assert.equal(all.code, 0, shown(all));
    const page = JSON.parse(all.stdout);
    assert.equal(page.operation_id, id);
    assert.deepEqual(page.entries.map((e: { line: string }) => e.line), lines.map((l) => l.replace(/^\S+\s+(\[\S+\] )?/, '')), 'every line, as the API has them');
  });
});
