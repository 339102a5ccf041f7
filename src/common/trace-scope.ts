import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The trace a piece of work belongs to: an API request, or a worker's run of an operation.
 * Held in async-local storage so that everything done on its behalf (log lines, provider
 * calls) carries its trace id without each call site passing it along. Imports nothing of the
 * engine: the logger and the provider HTTP client both read it.
 */
export interface TraceScope {
  trace_id: string;
  operation_id?: string;
  workspace?: string;
}

const scopes = new AsyncLocalStorage<TraceScope>();

export function withTraceScope<T>(scope: TraceScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

export function currentTraceScope(): TraceScope | undefined {
  return scopes.getStore();
}

/** What a caller may name its trace with: short, printable, nothing a log line or a header could be broken by. */
const SANE_TRACE_ID = /^[A-Za-z0-9._-]{8,128}$/;

export function isSaneTraceId(value: unknown): value is string {
  return typeof value === 'string' && SANE_TRACE_ID.test(value);
}

/** W3C `traceparent`: version-traceid-spanid-flags; an all-zero trace or span id is invalid. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The trace id of a W3C `traceparent` header, or undefined when the header is not a valid one. */
export function traceIdOfTraceparent(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!match || match[1] === 'ff' || /^0+$/.test(match[2]!) || /^0+$/.test(match[3]!)) return undefined;
  return match[2];
}

/**
 * Runs `fn` outside any trace: for long-lived work started lazily by whichever request comes
 * first (a stream reader, a refresh timer), whose later log lines are that request's no more.
 */
export function outsideTraceScope<T>(fn: () => T): T {
  return scopes.exit(fn);
}
