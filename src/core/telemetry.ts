/**
 * Optional OpenTelemetry traces. With an OTLP endpoint configured (OTEL_EXPORTER_OTLP_ENDPOINT
 * or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) each process runs the official SDK: a
 * NodeTracerProvider whose BatchSpanProcessor sends spans over OTLP/HTTP (JSON). Without one
 * none of the SDK is imported: every function here falls through to the plain call it wraps.
 *
 * The spans: one server span per API request (middleware/server-span.ts), one span per run
 * of an operation or workflow job in a worker (a child of the request that submitted it: the
 * request's W3C `traceparent` travels in the job's data), and one client span per provider
 * HTTP call made during that run (common/outgoing-trace.ts), whose `traceparent` goes with the call.
 */
import type * as OtelApi from '@opentelemetry/api';
import type { TelemetrySettings } from './config.js';
import { setProviderCallTracer, type ProviderCallSpan } from '../common/outgoing-trace.js';

export type TelemetryRole = 'api' | 'worker';

interface Running {
  api: typeof OtelApi;
  tracer: OtelApi.Tracer;
  shutdown(): Promise<void>;
  forceFlush(): Promise<void>;
}

let running: Running | null = null;

const TRACER_NAME = 'provisioning-engine';

/** Starts tracing for this process when `settings` is set; resolves false (and loads nothing) when it is not. */
export async function startTelemetry(settings: TelemetrySettings | null, role: TelemetryRole, version?: string): Promise<boolean> {
  if (settings === null || running !== null) return running !== null;
  const api = await import('@opentelemetry/api');
  const { NodeTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-node');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  const { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } = await import('@opentelemetry/semantic-conventions');
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settings.serviceName ?? `provisioning-engine-${role}`,
      ...(version ? { [ATTR_SERVICE_VERSION]: version } : {}),
    }),
    // The batch processor reads OTEL_BSP_* (schedule delay, queue size) itself; an exporter
    // that is down costs dropped spans, never a blocked request.
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: settings.tracesUrl, timeoutMillis: 10_000 }))],
  });
  // Registers the async-local context manager and the W3C trace-context propagator.
  provider.register();
  const tracer = api.trace.getTracer(TRACER_NAME, version);
  running = { api, tracer, shutdown: () => provider.shutdown(), forceFlush: () => provider.forceFlush() };
  setProviderCallTracer((provider, method, url) => providerCallSpan(provider, method, url));
  return true;
}

/**
 * Sends the spans still queued and stops, giving up after `deadlineMs`: a collector that is
 * down must not hold a process that is shutting down.
 */
export async function stopTelemetry(deadlineMs = 5000): Promise<void> {
  const current = running;
  if (current === null) return;
  running = null;
  setProviderCallTracer(null);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, deadlineMs);
    timer.unref();
  });
  await Promise.race([current.shutdown().catch(() => undefined), late]).finally(() => clearTimeout(timer));
  current.api.trace.disable();
  current.api.context.disable();
  current.api.propagation.disable();
}

export function telemetryRunning(): boolean {
  return running !== null;
}

/** The trace id of the span in hand (the request's server span), when tracing runs. */
export function activeTraceId(): string | undefined {
  if (running === null) return undefined;
  const span = running.api.trace.getActiveSpan();
  const id = span?.spanContext().traceId;
  return id && running.api.isSpanContextValid(span!.spanContext()) ? id : undefined;
}

/**
 * Notes the engine's trace id on the span in hand: a caller's own `X-Trace-Id` differs from
 * the OpenTelemetry trace id, and this is how one finds the other.
 */
export function tagEngineTraceId(traceId: string): void {
  running?.api.trace.getActiveSpan()?.setAttribute('engine.trace_id', traceId);
}

/** `{traceparent}` of the span in hand, for a job's data, so the run that takes it up continues the trace; `{}` when tracing is off. */
export function jobTraceContext(): { traceparent?: string } {
  if (running === null) return {};
  const carrier: Record<string, string> = {};
  running.api.propagation.inject(running.api.context.active(), carrier);
  return carrier.traceparent ? { traceparent: carrier.traceparent } : {};
}

/** What a server span needs to know of a request. */
export interface ServerSpanRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface ServerSpanHandle {
  /** Names the span after the matched route (`GET /v1/servers/:id`) and ends it with the answer's status. */
  end(route: string | undefined, status: number): void;
  /** Runs `fn` with the span as the active one. */
  within<T>(fn: () => T): T;
}

/** A server span for one API request (the caller's `traceparent` its parent), or null when tracing is off. */
export function startServerSpan(req: ServerSpanRequest): ServerSpanHandle | null {
  if (running === null) return null;
  const { api, tracer } = running;
  const parent = api.propagation.extract(api.ROOT_CONTEXT, req.headers, {
    get: (carrier, key) => carrier[key],
    keys: (carrier) => Object.keys(carrier),
  });
  const span = tracer.startSpan(req.method, { kind: api.SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path } }, parent);
  const active = api.trace.setSpan(parent, span);
  let ended = false;
  return {
    within: (fn) => api.context.with(active, fn),
    end: (route, status) => {
      if (ended) return;
      ended = true;
      if (route) {
        span.updateName(`${req.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: api.SpanStatusCode.ERROR });
      span.end();
    },
  };
}

/**
 * Runs a worker's job under a span continuing the trace in `traceparent` (the submitting
 * request's); a job without one (enqueued by the sweep) starts a trace of its own.
 */
export async function inJobSpan<T>(name: string, traceparent: string | undefined, attributes: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  if (running === null) return fn();
  const { api, tracer } = running;
  const parent = traceparent ? api.propagation.extract(api.ROOT_CONTEXT, { traceparent }) : api.ROOT_CONTEXT;
  const span = tracer.startSpan(name, { kind: api.SpanKind.CONSUMER, attributes }, parent);
  try {
    return await api.context.with(api.trace.setSpan(parent, span), fn);
  } catch (err) {
    // BullMQ's control-flow errors (a park, a delay) are not failures of the run.
    if (!/^(DelayedError|WaitingChildrenError|RateLimitError)$/.test((err as Error)?.name ?? '')) {
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: (err as Error)?.message });
    }
    throw err;
  } finally {
    span.end();
  }
}

function providerCallSpan(provider: string, method: string, url: URL): ProviderCallSpan | null {
  if (running === null) return null;
  const { api, tracer } = running;
  // Only calls made on behalf of something traced: a watcher's poll for many operations is no one run's child.
  const parent = api.context.active();
  if (!api.trace.getSpan(parent)) return null;
  const span = tracer.startSpan(`${method} ${provider}`, {
    kind: api.SpanKind.CLIENT,
    attributes: { 'http.request.method': method, 'server.address': url.hostname, 'url.path': url.pathname, 'provider.name': provider },
  }, parent);
  const headers: Record<string, string> = {};
  api.propagation.inject(api.trace.setSpan(parent, span), headers);
  return {
    headers,
    end: (status, error) => {
      if (status !== undefined) span.setAttribute('http.response.status_code', status);
      if (error !== undefined || (status !== undefined && status >= 500)) span.setStatus({ code: api.SpanStatusCode.ERROR, ...(error ? { message: error } : {}) });
      span.end();
    },
  };
}
