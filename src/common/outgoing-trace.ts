import { currentTraceScope } from './trace-scope.js';

/**
 * What goes with every provider HTTP call: the trace id of the work it is made for, as
 * `X-Trace-Id` (real providers ignore headers they do not know; the sandbox records it), and,
 * when tracing runs, a client span whose `traceparent` is sent too. Imports nothing heavy:
 * the provider HTTP client reads it on every attempt.
 */
export interface ProviderCallSpan {
  headers: Record<string, string>;
  end(status?: number, error?: string): void;
}

export type ProviderCallTracer = (provider: string, method: string, url: URL) => ProviderCallSpan | null;

let tracer: ProviderCallTracer | null = null;

/** Set by telemetry.ts while tracing runs. */
export function setProviderCallTracer(next: ProviderCallTracer | null): void {
  tracer = next;
}

const NOTHING: ProviderCallSpan = { headers: {}, end: () => undefined };

/** Starts one provider call: the headers to send with it and what to call once it is answered (or failed). */
export function startProviderCall(provider: string, method: string, url: URL): ProviderCallSpan {
  const traceId = currentTraceScope()?.trace_id;
  const span = tracer?.(provider, method, url) ?? null;
  if (!traceId && !span) return NOTHING;
  return {
    headers: { ...(span?.headers ?? {}), ...(traceId ? { 'x-trace-id': traceId } : {}) },
    end: span ? span.end : NOTHING.end,
  };
}
