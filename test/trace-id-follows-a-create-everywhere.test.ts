import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { http } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';

/** The events of a finished operation, read from its server-sent event stream (history, then the end). */
async function operationEvents(sys: TestSystem, id: string): Promise<Array<Record<string, string>>> {
  const res = await fetch(`${sys.url}/v1/operations/${id}/events`, { headers: { authorization: `Bearer ${sys.token}` }, signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  const text = await res.text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => JSON.parse(line.slice(5)) as Record<string, string>);
}

describe('a request\'s trace id follows it everywhere', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start({ workers: 1 });
  });
  after(async () => {
    await sys?.stop();
  });

  test('a create with a chosen X-Trace-Id: the answer, the operation, its events, the worker\'s log lines and the provider requests carry it', async () => {
    const traceId = `trace-${randomBytes(8).toString('hex')}`;
    const res = await sys.request('POST', '/v1/servers/create', {
      headers: { 'X-Trace-Id': traceId },
      body: { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'traced-01', zone: 'nyc3', check_mode: false, tags: ['web'] },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.headers.get('x-trace-id'), traceId);
    assert.equal(res.body.trace_id, traceId);
    const op = await sys.waitForStatus(res.body.id, ['completed', 'failed']);
    assert.equal(op.status, 'completed', JSON.stringify(op.error));
    assert.equal(op.trace_id, traceId);

    const events = await operationEvents(sys, op.id);
    assert.ok(events.some((e) => e.kind === 'state' && e.to === 'completed'), 'the stream holds the final state');
    for (const event of events) assert.equal(event.trace_id, traceId, `event ${event.id} (${event.kind}) carries the trace id`);

    // Every line the worker wrote about the operation names its trace, operation and workspace.
    const lines = await sys.eventually(async () => {
      const parsed = sys.workers[0]!.logs.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
      const about = parsed.filter((l) => l.operation_id === op.id);
      return about.some((l) => l.message === 'completed') ? about : undefined;
    }, 'the worker\'s line saying the operation completed');
    for (const line of lines) {
      assert.equal(line.trace_id, traceId, `worker line '${String(line.message)}' carries the trace id`);
      assert.equal(line.workspace, 'production');
    }

    // The sandbox recorded the header on the droplet create the worker sent.
    const log = await http(sys.sandbox.url, 'GET', '/_sandbox/requests/log?limit=1000', { token: sys.sandbox.token });
    assert.equal(log.status, 200);
    const creates = (log.body.entries as Array<{ method: string; path: string; trace_id?: string | null; body: { name?: string } }>).filter(
      (e) => e.method === 'POST' && e.path.endsWith('/droplets') && e.body?.name === 'traced-01',
    );
    assert.ok(creates.length >= 1, 'the create reached the sandbox');
    for (const create of creates) assert.equal(create.trace_id, traceId);
  });

  test('X-Request-Id and traceparent name the trace when X-Trace-Id is absent; anything unsafe is replaced', async () => {
    const requestId = `req-${randomBytes(6).toString('hex')}`;
    const byRequestId = await sys.request('GET', '/v1/operations?limit=1', { headers: { 'X-Request-Id': requestId } });
    assert.equal(byRequestId.headers.get('x-trace-id'), requestId);

    const otelTrace = randomBytes(16).toString('hex');
    const byTraceparent = await sys.request('GET', '/v1/operations?limit=1', { headers: { traceparent: `00-${otelTrace}-${randomBytes(8).toString('hex')}-01` } });
    assert.equal(byTraceparent.headers.get('x-trace-id'), otelTrace);

    const preferred = await sys.request('GET', '/v1/operations?limit=1', { headers: { 'X-Trace-Id': 'chosen-trace-1', 'X-Request-Id': requestId } });
    assert.equal(preferred.headers.get('x-trace-id'), 'chosen-trace-1');

    for (const bad of ['short', 'has spaces in it', 'x'.repeat(200), 'semi;colon;value']) {
      const res = await sys.request('GET', '/v1/operations?limit=1', { headers: { 'X-Trace-Id': bad, traceparent: `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01` } });
      const answered = res.headers.get('x-trace-id') ?? '';
      assert.notEqual(answered, bad);
      assert.match(answered, /^[0-9a-f-]{36}$/, 'a fresh trace id is generated');
    }
  });
});
