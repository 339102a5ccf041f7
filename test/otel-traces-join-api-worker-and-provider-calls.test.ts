import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../src/core/config.js';
import { startTelemetry, stopTelemetry } from '../src/core/telemetry.js';
import { TestSystem } from './helpers/system.js';

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
}

// OTLP's SpanKind numbers.
const SERVER = 2;
const CLIENT = 3;

/** A loopback OTLP/HTTP receiver: keeps every span POSTed to /v1/traces (the exporter sends JSON). */
function otlpReceiver(spans: ReceivedSpan[]): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        for (const rs of body.resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a: { key: string }) => a.key === 'service.name')?.value?.stringValue ?? '';
          for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push({ service, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, kind: s.kind });
        }
      }
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
  });
}

describe('OpenTelemetry: one trace from the API request through the worker\'s run to the provider calls', () => {
  const spans: ReceivedSpan[] = [];
  let receiver: Server;
  let sys: TestSystem;

  before(async () => {
    receiver = otlpReceiver(spans);
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`, OTEL_BSP_SCHEDULE_DELAY: '100' };
    // The API runs in this process: tracing starts here as the API's entry point starts it.
    Object.assign(process.env, env);
    assert.equal(await startTelemetry(loadConfig(env).telemetry, 'api'), true);
    sys = await TestSystem.start({ workers: 1, env });
  });
  after(async () => {
    await sys?.stop();
    await stopTelemetry(2000);
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    delete process.env.OTEL_BSP_SCHEDULE_DELAY;
  });

  test('a create: the run span is the request span\'s child, provider call spans the run\'s', async () => {
    const res = await sys.request('POST', '/v1/servers/create', {
      body: { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'otel-01', zone: 'nyc3', check_mode: false, tags: ['web'] },
    });
    assert.equal(res.status, 202);
    const op = await sys.waitForStatus(res.body.id, ['completed', 'failed']);
    assert.equal(op.status, 'completed');

    const request = await sys.eventually(async () => spans.find((s) => s.kind === SERVER && s.name === 'POST /v1/servers/create'), 'the API request span');
    assert.equal(request.service, 'provisioning-engine-api');
    // With no trace id given, the request's trace id is its OpenTelemetry trace's.
    assert.equal(res.headers.get('x-trace-id'), request.traceId);
    assert.equal(op.trace_id, request.traceId);

    const { runs, calls } = await sys.eventually(async () => {
      const inTrace = spans.filter((s) => s.traceId === request.traceId && s.service === 'provisioning-engine-worker');
      const runs = inTrace.filter((s) => s.name === 'run server.create');
      const calls = inTrace.filter((s) => s.kind === CLIENT);
      return runs.length > 0 && calls.some((c) => c.name === 'POST digitalocean') ? { runs, calls } : undefined;
    }, 'the worker\'s run span and its provider call spans');
    for (const run of runs) assert.equal(run.parentSpanId, request.spanId, 'each run of the operation is a child of the request that submitted it');
    const runIds = new Set(runs.map((r) => r.spanId));
    for (const call of calls) assert.ok(runIds.has(call.parentSpanId ?? ''), `provider call ${call.name} is a child of a run`);
  });
});
