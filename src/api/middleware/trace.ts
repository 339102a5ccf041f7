import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { activeTraceId, tagEngineTraceId } from '../../core/telemetry.js';
import { isSaneTraceId, traceIdOfTraceparent, withTraceScope } from '../../common/trace-scope.js';

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Every request gets a trace id that follows it into its operation, the job, the worker's
 * log lines, the provider calls and the events: the caller's `X-Trace-Id`, else its
 * `X-Request-Id`, else the trace id of its W3C `traceparent`, when sane; else the request's
 * OpenTelemetry trace (when tracing runs) or a new one. It is answered in `X-Trace-Id`, and
 * everything done for the request runs in its trace scope (so its log lines carry it).
 */
export function traceId(req: Request, res: Response, next: NextFunction): void {
  const given = [one(req.headers['x-trace-id']), one(req.headers['x-request-id'])].find(isSaneTraceId);
  const id = given ?? traceIdOfTraceparent(one(req.headers.traceparent)) ?? activeTraceId() ?? randomUUID();
  res.locals.traceId = id;
  res.setHeader('X-Trace-Id', id);
  tagEngineTraceId(id);
  withTraceScope({ trace_id: id }, next);
}
