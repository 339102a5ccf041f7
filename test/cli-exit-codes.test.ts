import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configureSandbox } from './helpers/cancel-cases.js';
import { cliSuite, closedPort, shown, STACK_LINE } from './helpers/cli.js';

const CREATE = ['servers', 'create', '--provider', 'digitalocean', '--plan', 's-1vcpu-1gb', '--zone', 'nyc3', '--workspace', 'production'];

describe('pe exits by how the operation ended: 0 completed, 1 failed, 2 usage, 3 cancelled, 4 timed out, 5 API error', () => {
  const cli = cliSuite({ workers: 1, doActiveDelayMs: 300, doActionDelayMs: 200 });

  test('a create the provider refuses ends failed: exit 1, with the reason', async () => {
    await configureSandbox(cli.sys, 'digitalocean', { dropletLimit: 0 });
    try {
      const r = await cli.home.run([...CREATE, '--hostname', 'exit-failed', '--wait']);
      assert.equal(r.code, 1, shown(r));
      assert.match(r.stdout, /server\.create \S+ failed after .*: PROVIDER_\w+: /, shown(r));
    } finally {
      await configureSandbox(cli.sys, 'digitalocean', { dropletLimit: 1000 });
    }
  });

  test('usage errors exit 2, commander\'s own included', async () => {
    const cases = [
      ['servers', 'create', '--provider', 'digitalocean'], // required options missing
      ['servers', 'list', '--bogus'], // unknown option
      ['servers', 'lis'], // unknown command
      ['ops', 'list', '-o', 'xml'], // a choice not offered
      ['ops', 'wait', 'some-id', '--timeout', 'soon'], // not a duration
      ['ops', 'get'], // missing argument
      ['ops', 'cancel-matching'], // no filter: refused by pe itself
      ['intake', 'pause', '--reason', 'maintenance'], // neither --workspace nor --provider
      ['servers'], // a group alone shows its help as an error
    ];
    for (const args of cases) {
      const r = await cli.home.run(args);
      assert.equal(r.code, 2, `pe ${args.join(' ')}\n${shown(r)}`);
      assert.notEqual(r.stderr, '', `pe ${args.join(' ')} says why on stderr`);
      assert.doesNotMatch(r.stderr, STACK_LINE);
    }
    const help = await cli.home.run(['--help']);
    assert.equal(help.code, 0, shown(help));
    assert.match(help.stdout, /Exit codes:\n\s+0 .*\n\s+1 .*failed\n\s+2 .*usage.*\n\s+3 .*cancelled\n\s+4 .*timed out.*\n\s+5 /);
    assert.equal((await cli.home.run(['servers', 'create', '--help'])).code, 0);
  });

  test('an operation cancelled while it is being waited for: exit 3', async () => {
    // A boot slow enough that the cancel always comes while it runs, however loaded the machine.
    await configureSandbox(cli.sys, 'digitalocean', { activeDelayMs: 60000 });
    try {
      const waiting = cli.home.spawn([...CREATE, '--hostname', 'exit-cancelled', '--wait']);
      await waiting.waitForOutput(/running/);
      const id = /server\.create (\S+)/.exec(waiting.stdout)![1]!;
      const cancel = await cli.home.run(['ops', 'cancel', id]);
      assert.equal(cancel.code, 0, shown(cancel));
      assert.match(cancel.stdout, /cancel requested/);
      const r = await waiting.done();
      assert.equal(r.code, 3, shown(r));
      assert.match(r.stdout, /cancelled after/);
      // Waiting again on the finished operation says the same.
      const again = await cli.home.run(['ops', 'wait', id]);
      assert.equal(again.code, 3, shown(again));
    } finally {
      await configureSandbox(cli.sys, 'digitalocean', { activeDelayMs: 300 });
    }
  });

  test('--timeout gives up waiting with exit 4 and leaves the operation running', async () => {
    await configureSandbox(cli.sys, 'digitalocean', { activeDelayMs: 60000 });
    try {
      const r = await cli.home.run([...CREATE, '--hostname', 'exit-timeout', '--wait', '--timeout', '700ms']);
      assert.equal(r.code, 4, shown(r));
      assert.match(r.stderr, /timed out after 0\.7s waiting for operation (\S+) \(still (pending|running)\)/);
      const id = /waiting for operation (\S+)/.exec(r.stderr)![1]!;
      const now = (await cli.sys.request('GET', `/v1/operations/${id}`)).body.status;
      assert.ok(['pending', 'running'].includes(now), `it gave up when told, not at the end (the operation is ${now})`);
      const wait = await cli.home.run(['ops', 'wait', id, '--timeout', '300ms', '-o', 'json']);
      assert.equal(wait.code, 4, shown(wait));
      assert.ok(['pending', 'running'].includes(JSON.parse(wait.stdout).status), 'the last look at it, as JSON');
      assert.ok(['pending', 'running'].includes((await cli.sys.request('GET', `/v1/operations/${id}`)).body.status), 'the operation goes on');
      await cli.sys.request('POST', `/v1/operations/${id}/cancel`);
      await cli.sys.waitForStatus(id, ['cancelled', 'completed'], 20000);
    } finally {
      await configureSandbox(cli.sys, 'digitalocean', { activeDelayMs: 300 });
    }
  });

  test('API errors and an unreachable API exit 5 with a one-line reason, never a stack', async () => {
    const missing = await cli.home.run(['ops', 'get', '7d444840-9dc0-11d1-b245-5ffdce74fad2']);
    assert.equal(missing.code, 5, shown(missing));
    assert.match(missing.stderr, /operation 7d444840-9dc0-11d1-b245-5ffdce74fad2 does not exist \(OPERATION_NOT_FOUND, HTTP 404\)/);

    const port = await closedPort();
    const refused = await cli.home.run(['servers', 'list'], { env: { PE_URL: `http://127.0.0.1:${port}` } });
    assert.equal(refused.code, 5, shown(refused));
    assert.equal(refused.stderr.trim(), `pe: error: cannot reach http://127.0.0.1:${port}: connection refused`);
    assert.equal(refused.stdout, '');

    const unauthenticated = await cli.home.run(['servers', 'list'], { env: { PE_TOKEN: 'not-a-token' } });
    assert.equal(unauthenticated.code, 5, shown(unauthenticated));
    assert.match(unauthenticated.stderr, /HTTP 401/);
    for (const r of [missing, refused, unauthenticated]) assert.doesNotMatch(r.stderr, STACK_LINE);
  });
});
