import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openSse, type SseMessage } from './helpers/sse.js';
import { TestSystem } from './helpers/system.js';

describe('watching operations: long-poll and server-sent events with resume', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 1200, doActionDelayMs: 200 });
  });
  after(async () => {
    await sys?.stop();
  });

  async function drain(stream: Awaited<ReturnType<typeof openSse>>): Promise<SseMessage[]> {
    const all: SseMessage[] = [];
    for (let m = await stream.next(20000); m; m = await stream.next(20000)) all.push(m);
    return all;
  }

  test('?wait=10s answers as soon as the operation finishes; a short wait answers with it still running', async () => {
    const op = await sys.createServer({ hostname: 'wait-01' });
    const started = Date.now();
    const short = await sys.request('GET', `/v1/operations/${op.id}?wait=300ms`);
    assert.equal(short.status, 200);
    assert.ok(['pending', 'running'].includes(short.body.status));
    assert.ok(Date.now() - started >= 250, 'it waited');
    const long = await sys.request('GET', `/v1/operations/${op.id}?wait=10s`);
    assert.equal(long.body.status, 'completed');
    assert.ok(Date.now() - started < 8000, 'it answered when the operation finished, not at the deadline');
    const tooLong = await sys.request('GET', `/v1/operations/${op.id}?wait=61s`);
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.details[0].field, 'query.wait');
  });

  test('an operation\'s event stream delivers every transition in order and ends when it finishes', async () => {
    const op = await sys.createServer({ hostname: 'sse-01' });
    const stream = await openSse(`${sys.url}/v1/operations/${op.id}/events`, sys.token);
    assert.match(stream.contentType ?? '', /text\/event-stream/);
    const events = await drain(stream);
    const states = events.filter((e) => e.event === 'state').map((e) => `${e.data.from ?? ""}>${e.data.to}`);
    assert.deepEqual(states, ['>pending', 'pending>running', 'running>completed']);
    assert.ok(events.some((e) => e.event === 'progress' && /waiting/.test(e.data.message ?? '')), 'progress in between');
    const ids = events.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => Number(a.split('-')[0]) - Number(b.split('-')[0]) || Number(a.split('-')[1]) - Number(b.split('-')[1])));
    assert.ok(events.every((e) => e.data.operation_id === op.id));

    // Resuming from the second event gives exactly the rest; the operation has finished by now,
    // and a finished operation's history keeps its state changes (its progress notes are in its log).
    const resumed = await drain(await openSse(`${sys.url}/v1/operations/${op.id}/events`, sys.token, { 'Last-Event-ID': ids[1]! }));
    assert.deepEqual(resumed.map((e) => e.id), events.slice(2).filter((e) => e.event === 'state').map((e) => e.id));
  });

  test('the global stream carries live events and resumes from Last-Event-ID', async () => {
    const live = await openSse(`${sys.url}/v1/events?kind=state`, sys.token);
    const op = await sys.createServer({ hostname: 'sse-02' });
    const seen: SseMessage[] = [];
    while (!seen.some((e) => e.data.operation_id === op.id && e.data.to === 'completed')) {
      const m = await live.next(20000);
      assert.ok(m, 'stream still open');
      seen.push(m);
    }
    live.close();
    const mine = seen.filter((e) => e.data.operation_id === op.id);
    assert.deepEqual(mine.map((e) => e.data.to), ['pending', 'running', 'completed']);
    assert.ok(seen.every((e) => e.event === 'state'));

    const resumed = await openSse(`${sys.url}/v1/events?kind=state`, sys.token, { 'Last-Event-ID': mine[0]!.id });
    const replay = [await resumed.next(), await resumed.next()];
    resumed.close();
    assert.deepEqual(replay.map((e) => e?.id), mine.slice(1).map((e) => e.id));
  });

  test('an operation\'s log holds the engine\'s steps, read in pages', async () => {
    const op = await sys.createServer({ hostname: 'log-01' });
    await sys.waitForStatus(op.id, ['completed']);
    const all = await sys.request('GET', `/v1/operations/${op.id}/logs`);
    assert.equal(all.status, 200);
    assert.equal(all.body.operation_id, op.id);
    const lines = all.body.entries.map((e: { line: string }) => e.line);
    assert.ok(lines.some((l: string) => /creating log-01/.test(l)), lines.join(' | '));
    assert.ok(lines.some((l: string) => /waiting for droplet \d+ to become active/.test(l)), lines.join(' | '));
    assert.ok(lines.some((l: string) => /server \d+ is running at \d+\.\d+\.\d+\.\d+/.test(l)), lines.join(' | '));
    assert.ok(all.body.entries.every((e: { source: string; stream: string }) => e.source === 'engine' && e.stream === 'engine'));
    assert.equal(all.body.total, all.body.entries.length);
    const page = await sys.request('GET', `/v1/operations/${op.id}/logs?from=1&limit=1`);
    assert.equal(page.body.entries.length, 1);
    assert.equal(page.body.entries[0].index, 1);
    assert.equal(page.body.entries[0].line, lines[1]);
    assert.equal(page.body.next, 2);
  });

  test('a bad Last-Event-ID is a 400 naming it; an unknown operation 404', async () => {
    const bad = await sys.request('GET', '/v1/events', { headers: { 'Last-Event-ID': 'yesterday' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.details[0].field, 'header.Last-Event-ID');
    const unknown = await sys.request('GET', '/v1/operations/7d444840-9dc0-11d1-b245-5ffdce74fad2/events');
    assert.equal(unknown.status, 404);
  });
});
