import type { NextFunction, Request, RequestHandler, Response } from 'express';
import express from 'express';
import { EngineError, ErrorCodes, ValidationError, type FieldProblem } from '../../common/errors.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../core/json-depth.js';

/**
 * Guards every router runs before its routes, so that no malformed request gets further than
 * a 4xx: the body is read here (size, content-encoding, charset, JSON, nesting depth) and the
 * path's parameters are checked for percent-encoding that does not decode. Each failure is an
 * EngineError the router's own error handler answers in its family's shape.
 */

/**
 * A request whose form is broken rather than one of its values: percent-encoding that does not
 * decode, a body nested past MAX_JSON_DEPTH. A 400 naming the part in every route family (the
 * multi-cloud routes answer their schema's validation errors 422, these not).
 */
export class RequestSyntaxError extends ValidationError {
  constructor(problems: FieldProblem[]) {
    super(problems);
    this.name = 'RequestSyntaxError';
  }
}

/** The body is not JSON (the multi-cloud routes answer it 422 `json_invalid`, as their contract says). */
export class InvalidJsonError extends EngineError {
  constructor() {
    super(ErrorCodes.INVALID_JSON, 'the request body is not valid JSON');
  }
}

/** The content-encodings the body parser reads. */
const ENCODINGS = 'identity, gzip, deflate or br';

interface BodyParserError {
  type?: string;
  status?: number;
  statusCode?: number;
  code?: string;
  encoding?: string;
  charset?: string;
  message?: string;
}

/**
 * What an error of the JSON body parser (body-parser, raw-body, zlib) means to the client, or
 * null when it is not one of them or says the server is at fault (a stream already read).
 */
export function bodyReadError(err: unknown, req: Request, limit = 'the limit'): EngineError | null {
  if (!err || typeof err !== 'object') return null;
  const e = err as BodyParserError;
  const status = e.status ?? e.statusCode;
  switch (e.type) {
    case 'entity.parse.failed':
      return new InvalidJsonError();
    case 'entity.too.large':
      return new EngineError(ErrorCodes.PAYLOAD_TOO_LARGE, `the request body is larger than ${limit}${req.headers['content-encoding'] ? ' (once decompressed)' : ''}`);
    case 'encoding.unsupported':
      return new EngineError(ErrorCodes.UNSUPPORTED_MEDIA_TYPE, `content-encoding '${printable(e.encoding ?? String(req.headers['content-encoding']))}' is not supported; send the body as ${ENCODINGS}`);
    case 'charset.unsupported':
      return new EngineError(ErrorCodes.UNSUPPORTED_MEDIA_TYPE, `charset '${printable(e.charset ?? '')}' is not supported; send JSON as UTF-8`);
    case 'request.aborted':
      return new EngineError(ErrorCodes.INVALID_JSON, 'the request body ended before it was complete');
    case 'request.size.invalid':
      return new EngineError(ErrorCodes.INVALID_JSON, 'the request body is not as long as its Content-Length says');
  }
  if (status === undefined || status >= 500) return null;
  // The decompressor's own errors (zlib's Z_DATA_ERROR, brotli's ERR__ERROR_FORMAT_…) come
  // through with status 400 and no type.
  const encoding = req.headers['content-encoding'];
  if (encoding && encoding.toLowerCase() !== 'identity' && e.type === undefined && typeof (err as { errno?: unknown }).errno === 'number') {
    return new EngineError(ErrorCodes.INVALID_JSON, `the request body is not valid ${printable(encoding)} data`);
  }
  return new EngineError(ErrorCodes.INVALID_JSON, `the request body could not be read${e.type ? ` (${e.type})` : ''}`);
}

/** At most 64 characters of printable ASCII, for echoing a header value in a message. */
function printable(value: string): string {
  return value.replace(/[^\x20-\x7E]/g, '?').slice(0, 64);
}

/**
 * Reads the body as JSON whatever its content type (a body that is not JSON gets a clear 400,
 * not silence), up to `limit`, and refuses one nested more than MAX_JSON_DEPTH. The depth is
 * measured on the parsed value without recursion (V8's JSON.parse itself does not recurse), so
 * nothing after this sees a body deep enough to overflow a recursive walk.
 */
export function jsonBody(limit: string): RequestHandler {
  const parse = express.json({ limit, type: () => true });
  return (req: Request, res: Response, next: NextFunction) => {
    parse(req, res, (err?: unknown) => {
      if (err) return next(bodyReadError(err, req, limit) ?? err);
      if (exceedsJsonDepth(req.body, MAX_JSON_DEPTH)) {
        return next(new RequestSyntaxError([{ field: 'body', problem: `is nested more than ${MAX_JSON_DEPTH} levels deep` }]));
      }
      next();
    });
  };
}

/** A documented path such as `/v1/servers/{id}/status`, split for matching. */
interface PathTemplate {
  segments: Array<{ literal: string } | { param: string }>;
}

function compileTemplate(path: string): PathTemplate {
  return {
    segments: path.split('/').map((s) => {
      const m = /^\{(\w+)\}$/.exec(s);
      return m ? { param: m[1]! } : { literal: s.toLowerCase() };
    }),
  };
}

function decodes(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

/**
 * The name of the path parameter whose percent-encoding does not decode (`%zz`, `%E0%A4%A`,
 * overlong UTF-8 such as `%C0%AE`) in a path that matches a documented route, else null.
 * Matched as the router matches: literal segments case-insensitively, a trailing slash allowed.
 */
export function malformedPathParam(path: string, templates: PathTemplate[]): string | null {
  if (!path.includes('%')) return null;
  const segments = path.split('/');
  if (segments.length > 2 && segments[segments.length - 1] === '') segments.pop();
  for (const t of templates) {
    if (t.segments.length !== segments.length) continue;
    let bad: string | null = null;
    const matches = t.segments.every((s, i) => {
      const seg = segments[i]!;
      if ('literal' in s) return seg.toLowerCase() === s.literal;
      if (seg === '') return false;
      if (bad === null && !decodes(seg)) bad = s.param;
      return true;
    });
    if (matches && bad !== null) return bad;
  }
  return null;
}

/**
 * Answers 400 naming the path parameter when a request's path matches a route but a parameter's
 * percent-encoding does not decode; the router would otherwise throw a URIError while matching.
 * `paths` gives the documented route paths, read once at the first request (after every route
 * is declared).
 */
export function rejectMalformedPathParams(paths: () => string[]): RequestHandler {
  let templates: PathTemplate[] | undefined;
  return (req: Request, _res: Response, next: NextFunction) => {
    templates ??= paths().map(compileTemplate);
    const param = malformedPathParam(req.path, templates);
    if (param === null) return next();
    next(new RequestSyntaxError([{ field: `path.${param}`, problem: 'is not valid percent-encoding of UTF-8 text' }]));
  };
}
