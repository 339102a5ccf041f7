import type { Request } from 'express';
import { EngineError } from '../core/errors.js';
import {
  IDEMPOTENCY_HEADER,
  parseIdempotencyKey,
  REPLAYED_HEADER,
  requestFingerprint,
  type IdempotencyStore,
} from '../core/idempotency.js';
import { engineErrorReply } from './middleware/errors.js';
import type { RouteReply } from './route.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Every mutating, authenticated `/v1` route honours `Idempotency-Key` unless it says otherwise.
 * Login and refresh are left out: they create no operation, and a replayed token pair would
 * hand out tokens without checking the password again.
 */
export function idempotentByDefault(method: string, path: string): boolean {
  return MUTATING.has(method.toUpperCase()) && path.startsWith('/v1/') && !path.startsWith('/v1/auth/');
}

/**
 * Runs a route's validation and handler under the request's Idempotency-Key, if it sent one:
 * the first request with a key runs and its answer is kept; a later one with the same key
 * and body gets that answer again with `Idempotent-Replayed: true`.
 *
 * `parts` must be the query and body as the client sent them, before validation fills in
 * defaults, so the fingerprint is of the request itself.
 */
export async function runIdempotently(
  store: IdempotencyStore,
  req: Request,
  username: string,
  traceId: string,
  parts: { query: unknown; body: unknown },
  run: () => Promise<RouteReply>,
): Promise<RouteReply> {
  const key = parseIdempotencyKey(req.headers[IDEMPOTENCY_HEADER.toLowerCase()]);
  if (key === null) return run();
  const path = req.baseUrl + req.path;
  const scope = { username, method: req.method, path, key };
  const claim = await store.claim(scope, requestFingerprint(req.method, path, parts.query, parts.body));
  if (claim.kind === 'replay') {
    const { status, headers, body } = claim.reply;
    return { status, headers: { ...headers, [REPLAYED_HEADER]: 'true' }, body: JSON.parse(body) as unknown };
  }

  let reply: RouteReply;
  try {
    reply = await run();
  } catch (err) {
    // A 4xx says the request itself is wrong (invalid, unknown server, already finished):
    // sending it again would get the same answer, so it is kept and replayed like a success.
    // A 5xx (provider not configured, Redis trouble, a bug) may well pass on a retry, so the
    // key is released and the retry runs afresh rather than replaying the failure for a day.
    if (err instanceof EngineError && err.httpStatus < 500) {
      reply = engineErrorReply(err, traceId);
    } else {
      await claim.release();
      throw err;
    }
  }
  if ('stream' in reply) {
    // A streamed answer cannot be kept; the key stays free for the next request.
    await claim.release();
    return reply;
  }
  if (reply.status >= 500) await claim.release();
  else await claim.complete({ status: reply.status, headers: reply.headers ?? {}, body: JSON.stringify(reply.body ?? null) });
  return reply;
}
