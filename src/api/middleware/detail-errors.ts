import type { NextFunction, Request, Response } from 'express';
import { EngineError, ErrorCodes, httpStatusFor, ValidationError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';

/** Where a field came from, as the multi-cloud contract's `loc` says it: ["body", "name"], ["query", "wait"]. */
function loc(field: string): string[] {
  const [first, ...rest] = field.split('.');
  if (first === 'query' || first === 'path') return [first, ...rest];
  return ['body', ...field.split('.')];
}

/**
 * Errors in the multi-cloud manager's shape, `{"detail": …}`: validation as a 422 list of
 * `{type, loc, msg}`, everything else as one message with the engine's status for its code.
 */
export function detailErrorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (err instanceof ValidationError) {
      res.status(422).json({ detail: err.problems.map((p) => ({ type: p.problem === 'is required' ? 'missing' : 'value_error', loc: loc(p.field), msg: p.problem })) });
      return;
    }
    const parserError = (err as { type?: string }).type === 'entity.parse.failed';
    if (parserError) {
      res.status(422).json({ detail: [{ type: 'json_invalid', loc: ['body'], msg: 'the request body is not valid JSON' }] });
      return;
    }
    if (err instanceof EngineError) {
      const status = httpStatusFor(err.code);
      const detail = err.code === ErrorCodes.UNAUTHORIZED ? 'Could not validate credentials' : err.code === ErrorCodes.FORBIDDEN ? 'Not enough permissions' : err.message;
      res.status(status).json({ detail });
      return;
    }
    logger.error('unhandled error', { trace_id: res.locals.traceId, path: req.path, error: (err as Error)?.stack ?? String(err) });
    res.status(500).json({ detail: 'Internal server error' });
  };
}
