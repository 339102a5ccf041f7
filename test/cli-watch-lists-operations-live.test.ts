import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cliSuite, shown } from './helpers/cli.js';

describe('pe ops list --watch keeps the list live over the event stream', () => {
  const cli = cliSuite({ workers: 1, doActiveDelayMs: 400, doActionDelayMs: 200 });

  test('not on a terminal: the table, then one line per change of the operations that match; Ctrl-C ends it with 0', async () => {
    const watching = cli.home.spawn(['ops', 'list', '--watch', '--workspace', 'production', '--type', 'server.create']);
    await watching.waitForOutput(/^no operations$/m);
    await watching.waitForOutput(/watching for changes/, 15000, 'stderr');
    const other = await cli.sys.createServer({ workspace: 'staging', hostname: 'elsewhere-01' });
    const op = await cli.sys.createServer({ hostname: 'watched-01' });
    await watching.waitForOutput(new RegExp(`${op.id}\\s+server\\.create\\s+running → completed`));
    watching.child.kill('SIGINT');
    const r = await watching.done();
    assert.equal(r.code, 0, shown(r));
    const mine = r.stdout.split('\n').filter((l) => l.includes(op.id));
    assert.match(mine[0]!, /\spending\s+watched-01$/);
    assert.ok(mine.some((l) => /pending → running/.test(l)), shown(r));
    assert.ok(mine.some((l) => /running\s+waiting for droplet/.test(l)), shown(r));
    assert.ok(!r.stdout.includes(other.id), 'another workspace is filtered out');
  });

  test('-o json: each event as one JSON line', async () => {
    const watching = cli.home.spawn(['ops', 'list', '--watch', '--workspace', 'production', '-o', 'json']);
    await watching.waitForOutput(/watching for changes/, 15000, 'stderr');
    const op = await cli.sys.createServer({ hostname: 'watched-02' });
    await watching.waitForOutput(new RegExp(`"operation_id":"${op.id}".*"to":"completed"`));
    watching.child.kill('SIGINT');
    const r = await watching.done();
    assert.equal(r.code, 0, shown(r));
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const states = events.filter((e) => e.operation_id === op.id && e.kind === 'state').map((e) => e.to);
    assert.deepEqual(states, ['pending', 'running', 'completed']);
    assert.ok(events.every((e) => /^\d+-\d+$/.test(e.id)));
  });
});
