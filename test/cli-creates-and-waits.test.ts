import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cliSuite, shown, STACK_LINE } from './helpers/cli.js';

describe('pe servers create --wait follows the operation to its end and shows the server', () => {
  const cli = cliSuite({ workers: 1, doActiveDelayMs: 600, doActionDelayMs: 200 });

  test('create --wait exits 0 and shows the server; progress is plain lines when stdout is not a terminal', async () => {
    const r = await cli.home.run(['servers', 'create', '--provider', 'digitalocean', '--plan', 's-1vcpu-1gb', '--zone', 'nyc3', '--hostname', 'cli-web-01', '--tag', 'web', '--workspace', 'production', '--wait']);
    assert.equal(r.code, 0, shown(r));
    assert.doesNotMatch(r.stdout, /\r|\x1b\[/, 'no carriage returns or escape codes when stdout is a pipe');
    const lines = r.stdout.split('\n');
    // The progress lines: one per change, each with the elapsed time and the status.
    assert.ok(lines.some((l) => /^\s*\d+\.\ds\s+server\.create \S+\s+(pending|running)/.test(l)), shown(r));
    assert.ok(lines.some((l) => /\brunning\b/.test(l) && /waiting|creating/.test(l)), `a progress message while running\n${shown(r)}`);
    assert.match(r.stdout, /server\.create \S+ completed after/);
    // The server, as the inventory has it.
    assert.match(r.stdout, /^hostname\s+cli-web-01$/m);
    assert.match(r.stdout, /^id\s+srv-[0-9a-f]{12}$/m);
    assert.match(r.stdout, /^ip\s+\d+\.\d+\.\d+\.\d+$/m);
    assert.match(r.stdout, /^tags\s+web$/m);
    assert.equal(r.stderr, '');
  });

  test('-o json prints the finished operation verbatim (it parses) and keeps the progress off stdout', async () => {
    const r = await cli.home.run(['servers', 'create', '--provider', 'digitalocean', '--plan', 's-1vcpu-1gb', '--zone', 'nyc3', '--hostname', 'cli-web-02', '--workspace', 'production', '--wait', '-o', 'json']);
    assert.equal(r.code, 0, shown(r));
    const op = JSON.parse(r.stdout);
    assert.equal(op.status, 'completed');
    assert.equal(op.type, 'server.create');
    assert.match(op.result.server_id, /^srv-/);
    const api = await cli.sys.request('GET', `/v1/operations/${op.id}`);
    assert.deepEqual(op, api.body, 'the API object, unchanged');
    assert.match(r.stderr, /running/, 'the progress went to stderr');

    // The lists and the server are the API's objects too.
    const list = await cli.home.run(['servers', 'list', '--workspace', 'production', '-o', 'json']);
    assert.equal(list.code, 0, shown(list));
    const servers = JSON.parse(list.stdout);
    assert.ok(servers.some((s: { id: string }) => s.id === op.result.server_id));
    const yaml = await cli.home.run(['ops', 'get', op.id, '-o', 'yaml']);
    assert.equal(yaml.code, 0, shown(yaml));
    assert.match(yaml.stdout, new RegExp(`^id: ${op.id}$`, 'm'));
    assert.match(yaml.stdout, /^status: completed$/m);
  });

  test('without --wait the accepted operation is shown at once; ops wait then follows it; tables are aligned', async () => {
    const r = await cli.home.run(['servers', 'create', '--provider', 'digitalocean', '--plan', 's-1vcpu-1gb', '--zone', 'nyc3', '--hostname', 'cli-web-03', '--workspace', 'production']);
    assert.equal(r.code, 0, shown(r));
    const id = /operation (\S+) \(pending\)/.exec(r.stdout)?.[1];
    assert.ok(id, shown(r));
    const waited = await cli.home.run(['ops', 'wait', id]);
    assert.equal(waited.code, 0, shown(waited));
    assert.match(waited.stdout, /completed after/);

    const list = await cli.home.run(['servers', 'list', '--workspace', 'production']);
    assert.equal(list.code, 0, shown(list));
    const [header, ...rows] = list.stdout.trimEnd().split('\n');
    assert.match(header!, /^ID\s+HOSTNAME\s+PROVIDER\s+PLAN\s+ZONE\s+STATUS\s+IP\s+WORKSPACE\s+TAGS$/);
    const col = header!.indexOf('HOSTNAME');
    assert.ok(rows.length >= 3);
    for (const row of rows) assert.match(row.slice(col), /^cli-web-0\d /, `aligned:\n${list.stdout}`);
    assert.doesNotMatch(list.stdout + waited.stdout + r.stdout, STACK_LINE);
  });
});
