import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { configureSandbox } from './helpers/cancel-cases.js';
import { cliSuite, shown } from './helpers/cli.js';
import { eventIds, lastEventIdOf } from './helpers/cli-proxy.js';

const CREATE = ['servers', 'create', '--provider', 'digitalocean', '--plan', 's-1vcpu-1gb', '--zone', 'nyc3', '--workspace', 'production', '--wait'];

/** The progress lines of one status, e.g. every line saying `pending`. */
function statusLines(stdout: string, status: string): string[] {
  return stdout.split('\n').filter((l) => new RegExp(`^\\s*\\d+(\\.\\d)?s\\s+server\\.create \\S+\\s+${status}(\\s|$)`).test(l));
}

describe('--wait resumes the event stream after a dropped connection', () => {
  const cli = cliSuite({ workers: 1, doActiveDelayMs: 1500, doActionDelayMs: 200 }, { proxy: true });

  test('cut once mid-stream: the CLI reconnects with Last-Event-ID of the last event it saw, shows nothing twice and ends right', async () => {
    let cutAfter = null as string[] | null;
    cli.proxy.onForward = (conn) => {
      // Once, on an operation's event stream, as soon as a progress event has gone through.
      if (cutAfter || !/^GET \/v1\/operations\/[^/]+\/events/.test(conn.request) || !/event: progress/.test(conn.response)) return;
      cutAfter = eventIds(conn.response);
      cli.proxy.cut(conn);
    };
    const r = await cli.home.run([...CREATE, '--hostname', 'resume-01']);
    cli.proxy.onForward = null;
    assert.equal(r.code, 0, shown(r));
    assert.ok(cutAfter, 'the stream was cut');
    const id = /server\.create (\S+)/.exec(r.stdout)![1]!;
    const streams = cli.proxy.streamsOf(id);
    assert.ok(streams.length >= 2, `it reconnected (${streams.length} stream requests)`);
    assert.equal(lastEventIdOf(streams[0]!.request), undefined, 'the first request starts from the beginning');
    assert.equal(lastEventIdOf(streams[1]!.request), cutAfter!.at(-1), 'the second resumes after the last event seen');
    assert.match(r.stdout, new RegExp(`connection lost \\(.*\\); resuming after event ${cutAfter!.at(-1)}`));
    // Resumed, not replayed: each state shows once, in order, and it ends completed.
    assert.equal(statusLines(r.stdout, 'pending').length, 1, shown(r));
    assert.equal(statusLines(r.stdout, 'completed').length, 1, shown(r));
    assert.match(r.stdout, /server\.create \S+ completed after/);
    assert.match(r.stdout, /^hostname\s+resume-01$/m);
    const resumedIds = eventIds(streams[1]!.response);
    assert.ok(resumedIds.every((e) => !cutAfter!.includes(e)), 'no event delivered twice');
  });

  test('down while the operation finishes: the CLI keeps trying with backoff, then learns the final state', async () => {
    await configureSandbox(cli.sys, 'digitalocean', { activeDelayMs: 1200 });
    let cut = false;
    cli.proxy.onForward = (conn) => {
      if (cut || !/^GET \/v1\/operations\/[^/]+\/events/.test(conn.request) || !/event: progress/.test(conn.response)) return;
      cut = true;
      cli.proxy.refuse = true; // the API "goes away" for longer than the operation still needs
      cli.proxy.cut(conn);
      setTimeout(() => (cli.proxy.refuse = false), 2500);
    };
    const waiting = cli.home.spawn([...CREATE, '--hostname', 'resume-02', '-o', 'json']);
    const r = await waiting.done(30000);
    cli.proxy.onForward = null;
    assert.ok(cut, 'the stream was cut');
    assert.equal(r.code, 0, shown(r));
    const op = JSON.parse(r.stdout);
    assert.equal(op.status, 'completed');
    assert.match(r.stderr, /connection lost/);
    assert.ok((r.stderr.match(/connection lost/g) ?? []).length >= 2, `it tried more than once while the API was away\n${r.stderr}`);
    const delays = [...r.stderr.matchAll(/in (\d+\.\d)s/g)].map((m) => Number(m[1]));
    assert.ok(delays.length >= 2 && delays.at(-1)! > delays[0]!, `the pauses between attempts grow: ${delays.join(', ')}`);
  });

  test('a workflow followed over GET /v1/events resumes with Last-Event-ID too, and still shows every step end', async () => {
    const file = join(cli.home.dir, 'cluster.yaml');
    writeFileSync(file, 'workflow_type: cluster_create\nparameters:\n  cluster_name: resumed\n  node_count: 2\n  provider: digitalocean\n  plan: s-1vcpu-1gb\n  zone: nyc3\n  taskservs: []\n');
    let cutAfter = null as string[] | null;
    cli.proxy.onForward = (conn) => {
      if (cutAfter || !/^GET \/v1\/events/.test(conn.request) || !/event: progress/.test(conn.response)) return;
      cutAfter = eventIds(conn.response);
      cli.proxy.cut(conn);
    };
    const r = await cli.home.run(['workflows', 'submit', '-f', file, '--workspace', 'production', '--wait']);
    cli.proxy.onForward = null;
    assert.equal(r.code, 0, shown(r));
    assert.ok(cutAfter, 'the stream was cut');
    assert.match(r.stdout, /connection lost/);
    const streams = cli.proxy.connections.flatMap((c) => c.exchanges).filter((e) => e.request.startsWith('GET /v1/events'));
    const resumed = streams.filter((e) => lastEventIdOf(e.request) === cutAfter!.at(-1));
    assert.equal(resumed.length, 1, `one request resumed after the last event seen (${cutAfter!.at(-1)}); the streams asked for: ${streams.map((e) => lastEventIdOf(e.request) ?? 'the start').join(', ')}\n${streams.map((e) => e.response.slice(-600)).join('\n----\n')}\n${shown(r)}`);
    for (const node of ['node-1', 'node-2']) assert.match(r.stdout, new RegExp(`step ${node}\\s+server\\.create\\s+running → completed`), shown(r));
    assert.match(r.stdout, /workflow\s+completed/);
  });
});
