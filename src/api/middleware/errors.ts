import type { NextFunction, Request, Response } from 'express';
import { EngineError, ErrorCodes, httpStatusFor, ValidationError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';

/** `/v1` error shape, as the API reference has it, plus `details` and `trace_id`. */
export function errorBody(code: string, message: string, status: number, traceId: string, details?: unknown) {
  return { error: code, message, code: String(status), ...(details !== undefined ? { details } : {}), trace_id: traceId };
}

function fromBodyParser(err: { type?: string; status?: number }): EngineError | null {
  if (err.type === 'entity.parse.failed') return new EngineError(ErrorCodes.INVALID_JSON, 'the request body is not valid JSON');
  if (err.type === 'entity.too.large') return new EngineError(ErrorCodes.PAYLOAD_TOO_LARGE, 'the request body is too large');
  if (err.type && err.status && err.status < 500) return new EngineError(ErrorCodes.INVALID_JSON, `the request body could not be read (${err.type})`);
  return null;
}

/** The status and `/v1` body answering a known error; also what an idempotent route keeps to replay. */
export function engineErrorReply(err: EngineError, traceId: string): { status: number; body: ReturnType<typeof errorBody> } {
  const status = httpStatusFor(err.code);
  const details = err instanceof ValidationError ? err.problems : err.details;
  return { status, body: errorBody(err.code, err.message, status, traceId, details) };
}

export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const traceId = (res.locals.traceId as string) ?? '';
    const known = err instanceof EngineError ? err : fromBodyParser(err as { type?: string });
    if (known) {
      const { status, body } = engineErrorReply(known, traceId);
      res.status(status).json(body);
      return;
    }
    logger.error('unhandled error', { trace_id: traceId, path: req.path, error: (err as Error)?.stack ?? String(err) });
    res.status(500).json(errorBody(ErrorCodes.INTERNAL, 'internal error; quote the trace id when reporting it', 500, traceId));
  };
}

export function notFoundHandler(req: Request, res: Response): void {
  res.status(404).json(errorBody(ErrorCodes.NOT_FOUND, `no route for ${req.method} ${req.path}`, 404, (res.locals.traceId as string) ?? ''));
}
