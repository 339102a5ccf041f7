import type { NextFunction, Request, Response } from 'express';
import { EngineError, ErrorCodes, type ErrorCode } from '../../common/errors.js';
import { logClientError, type Logger } from '../../core/logger.js';
import { bodyReadError, RequestSyntaxError } from './request-guards.js';

/** Where the error handlers leave what they answered, for the client-error log line. */
export interface AnsweredError {
  code: string;
  message: string;
}

const BY_STATUS: Record<number, ErrorCode> = {
  401: ErrorCodes.UNAUTHORIZED,
  403: ErrorCodes.FORBIDDEN,
  404: ErrorCodes.NOT_FOUND,
  413: ErrorCodes.PAYLOAD_TOO_LARGE,
  415: ErrorCodes.UNSUPPORTED_MEDIA_TYPE,
};

/**
 * The client's error an exception stands for, or null when it is the server's (a 500, logged
 * with its stack). Beside the engine's own errors: what the body parser, the router (a URIError
 * for a path parameter it cannot decode; request-guards.ts catches these first) and other
 * middleware raise as http-errors with a 4xx status.
 */
export function asClientError(err: unknown, req: Request): EngineError | null {
  if (err instanceof EngineError) return err;
  const status = (err as { status?: unknown } | null)?.status ?? (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return null;
  if (err instanceof URIError) return new RequestSyntaxError([{ field: 'path', problem: 'is not valid percent-encoding of UTF-8 text' }]);
  // A body parser's error (body-parser gives each a `type`): the routers' jsonBody turns these into EngineErrors already.
  if (typeof (err as { type?: unknown }).type === 'string') return bodyReadError(err, req);
  const code = BY_STATUS[status];
  const exposed = (err as { expose?: unknown }).expose === true ? String((err as Error).message).slice(0, 200) : 'the request is not valid';
  if (code) return new EngineError(code, exposed);
  return new EngineError(ErrorCodes.VALIDATION_FAILED, exposed, [{ field: 'request', problem: exposed }]);
}

const REALM = 'provisioning-engine';

/** RFC 7235 quoted-string content: printable ASCII without `"` and `\`. */
function quotable(text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '').slice(0, 200);
}

/**
 * The `WWW-Authenticate` challenge for a 401: `Bearer realm=…`, and when the request sent a
 * bearer token or an API key that was refused, `error="invalid_token"` with why (RFC 6750 §3).
 * A wrong password at login or password change is a 401 without a token at fault.
 */
export function authChallenge(req: Request, err: EngineError): string {
  const sent = req.headers.authorization !== undefined || req.headers['x-api-key'] !== undefined;
  const challenge = `Bearer realm="${REALM}"`;
  if (!sent || err.code !== ErrorCodes.UNAUTHORIZED) return challenge;
  return `${challenge}, error="invalid_token", error_description="${quotable(err.message)}"`;
}

/** Sets what every error answer of either family carries: the challenge on a 401, the note for the log. */
export function prepareErrorAnswer(req: Request, res: Response, err: EngineError, status: number): void {
  if (status === 401) res.setHeader('WWW-Authenticate', authChallenge(req, err));
  res.locals.answeredError = { code: err.code, message: err.message } satisfies AnsweredError;
}

/**
 * One log line, without a stack, for every answer with a 4xx status, however it was made (an
 * error handler, a route replaying a kept 4xx, the 404 for no route). Server errors are logged
 * by the error handlers, with their stack.
 */
export function logClientErrors(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.once('finish', () => {
      if (res.statusCode < 400 || res.statusCode >= 500) return;
      const answered = res.locals.answeredError as AnsweredError | undefined;
      logClientError(logger, {
        trace_id: res.locals.traceId as string | undefined,
        method: req.method,
        path: req.path,
        status: res.statusCode,
        code: answered?.code,
        message: answered?.message,
      });
    });
    next();
  };
}
