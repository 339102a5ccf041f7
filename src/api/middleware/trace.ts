import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/** Every request gets a trace id (the caller's X-Request-Id when sane) that follows it into its operation. */
export function traceId(req: Request, res: Response, next: NextFunction): void {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[A-Za-z0-9._-]{8,128}$/.test(given) ? given : randomUUID();
  res.locals.traceId = id;
  res.setHeader('X-Trace-Id', id);
  next();
}
