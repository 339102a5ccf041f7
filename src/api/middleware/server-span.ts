import type { NextFunction, Request, Response } from 'express';
import { startServerSpan } from '../../core/telemetry.js';

/**
 * One OpenTelemetry server span per request, named `METHOD route` once the router has matched
 * (`GET /v1/operations/:id`), ended when the answer is sent or the client goes. Without
 * tracing it passes the request on and costs nothing more.
 */
export function serverSpans(req: Request, res: Response, next: NextFunction): void {
  const span = startServerSpan({ method: req.method, path: req.path, headers: req.headers });
  if (span === null) return next();
  const end = () => span.end(req.route ? `${req.baseUrl}${String(req.route.path)}` : undefined, res.statusCode);
  res.once('finish', end);
  res.once('close', end);
  span.within(next);
}
