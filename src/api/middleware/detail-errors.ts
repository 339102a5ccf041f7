import type { NextFunction, Request, Response } from 'express';
import { ErrorCodes, httpStatusFor, ValidationError } from '../../common/errors.js';
import type { Logger } from '../../core/logger.js';
import { asClientError, prepareErrorAnswer } from './client-errors.js';
import { InvalidJsonError, RequestSyntaxError } from './request-guards.js';

/**
 * Where a field came from, as the multi-cloud contract's `loc` says it: ["body", "name"],
 * ["query", "wait"]; a setting of the configuration (POST /reload-config) as ["config", "LOG_LEVEL"].
 */
function loc(field: string): string[] {
  const [first, ...rest] = field.split('.');
  if (first === 'query' || first === 'path' || first === 'config') return [first, ...rest];
  if (field === 'body') return ['body'];
  return ['body', ...field.split('.')];
}

function detailList(err: ValidationError) {
  return err.problems.map((p) => ({ type: p.problem === 'is required' ? 'missing' : 'value_error', loc: loc(p.field), msg: p.problem }));
}

/**
 * Errors in the multi-cloud manager's shape, `{"detail": …}`: validation as a 422 list of
 * `{type, loc, msg}`, a body that is not JSON as a 422 `json_invalid`, a request whose form is
 * broken (a path parameter that does not decode, a body nested too deep) as a 400 list, and
 * everything else (413, 415, 401, …) as one message with the engine's status for its code.
 */
export function detailErrorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    const known = asClientError(err, req);
    if (!known) {
      logger.error('unhandled error', { trace_id: res.locals.traceId, path: req.path, error: (err as Error)?.stack ?? String(err) });
      res.status(500).json({ detail: 'Internal server error' });
      return;
    }
    if (known instanceof RequestSyntaxError) {
      prepareErrorAnswer(req, res, known, 400);
      res.status(400).json({ detail: detailList(known) });
      return;
    }
    if (known instanceof ValidationError) {
      prepareErrorAnswer(req, res, known, 422);
      res.status(422).json({ detail: detailList(known) });
      return;
    }
    if (known instanceof InvalidJsonError) {
      prepareErrorAnswer(req, res, known, 422);
      res.status(422).json({ detail: [{ type: 'json_invalid', loc: ['body'], msg: known.message }] });
      return;
    }
    const status = httpStatusFor(known.code);
    const detail = known.code === ErrorCodes.UNAUTHORIZED ? 'Could not validate credentials' : known.code === ErrorCodes.FORBIDDEN ? 'Not enough permissions' : known.message;
    prepareErrorAnswer(req, res, known, status);
    res.status(status).json({ detail });
  };
}
