import type { NextFunction, Request, Response } from 'express';
import { EngineError, ErrorCodes, httpStatusFor, ValidationError } from '../../common/errors.js';
import type { Logger } from '../../core/logger.js';
import { asClientError, prepareErrorAnswer } from './client-errors.js';

/** `/v1` error shape, as the API reference has it, plus `details` and `trace_id`. */
export function errorBody(code: string, message: string, status: number, traceId: string, details?: unknown) {
  return { error: code, message, code: String(status), ...(details !== undefined ? { details } : {}), trace_id: traceId };
}

/** The status and `/v1` body answering a known error; also what an idempotent route keeps to replay. */
export function engineErrorReply(err: EngineError, traceId: string): { status: number; body: ReturnType<typeof errorBody> } {
  const status = httpStatusFor(err.code);
  const details = err instanceof ValidationError ? err.problems : err.details;
  return { status, body: errorBody(err.code, err.message, status, traceId, details) };
}

/**
 * The `/v1` family's error handler. Every client error (the engine's own, and what the body
 * parser, the router or other middleware raise with a 4xx status) is answered in the `/v1`
 * shape; anything else is a 500, logged with its stack. Client errors are logged as one line
 * by logClientErrors (client-errors.ts).
 */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    // An answer already under way (a stream) cannot take an error body: Express ends the connection.
    if (res.headersSent) return next(err);
    const traceId = (res.locals.traceId as string) ?? '';
    const known = asClientError(err, req);
    if (known) {
      const { status, body } = engineErrorReply(known, traceId);
      prepareErrorAnswer(req, res, known, status);
      res.status(status).json(body);
      return;
    }
    logger.error('unhandled error', { trace_id: traceId, path: req.path, error: (err as Error)?.stack ?? String(err) });
    res.status(500).json(errorBody(ErrorCodes.INTERNAL, 'internal error; quote the trace id when reporting it', 500, traceId));
  };
}

export function notFoundHandler(req: Request, res: Response): void {
  res.locals.answeredError = { code: ErrorCodes.NOT_FOUND, message: 'no route' };
  res.status(404).json(errorBody(ErrorCodes.NOT_FOUND, `no route for ${req.method} ${req.path}`, 404, (res.locals.traceId as string) ?? ''));
}
