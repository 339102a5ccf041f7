import type { Request } from 'express';
import { EngineError } from '../common/errors.js';
import {
  IDEMPOTENCY_HEADER,
  IdempotencyKeyAnsweredError,
  parseIdempotencyKey,
  REPLAYED_HEADER,
  requestFingerprint,
  type IdempotencyBinding,
  type IdempotencyStore,
  type StoredReply,
} from '../core/idempotency.js';
import type { Config } from '../core/config.js';
import type { OperationStore } from '../core/operations/store.js';
import { acceptedReply } from './accepted.js';
import { engineErrorReply } from './middleware/errors.js';
import type { RouteReply } from './route.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Every mutating, authenticated `/v1` route honours `Idempotency-Key`, but for those whose
 * answer or request is a secret that must not be kept for replay: login, refresh and logout
 * (a replayed token pair would hand out tokens without the password), API keys (the answer
 * is the key) and passwords (the fingerprint would be a hash of the password).
 */
export function idempotentByDefault(method: string, path: string): boolean {
  return MUTATING.has(method.toUpperCase()) && path.startsWith('/v1/') && !path.startsWith('/v1/auth/') && !path.startsWith('/v1/api-keys') && !path.endsWith('/password');
}

/** What answering under a key needs: the keys, and the operations a key may name. */
export interface IdempotencyDeps {
  store: IdempotencyStore;
  operations: OperationStore;
  /** How a replayed operation's `actions` are worked out. */
  config: Pick<Config, 'forceCancelGraceMs'>;
}

/** An answer given again: marked so the client can tell. */
const markReplayed = (reply: { status: number; body: unknown; headers?: Record<string, string> }): RouteReply => ({
  ...reply,
  headers: { ...reply.headers, [REPLAYED_HEADER]: 'true' },
});

const replayed = (reply: StoredReply): RouteReply => markReplayed({ status: reply.status, headers: reply.headers, body: JSON.parse(reply.body) as unknown });

/**
 * Runs a route's validation and handler under the request's Idempotency-Key, if it sent one:
 * the first request with a key runs and its answer is kept; a later one with the same key
 * and body gets that answer again with `Idempotent-Replayed: true`. The handler gets the key's
 * binding to pass to the operation write, which binds the key in the same step (see
 * core/idempotency.ts for why nothing is held while it runs).
 *
 * `parts` must be the query and body as the client sent them, before validation fills in
 * defaults, so the fingerprint is of the request itself.
 */
export async function runIdempotently(
  deps: IdempotencyDeps,
  req: Request,
  username: string,
  traceId: string,
  parts: { query: unknown; body: unknown },
  run: (binding?: IdempotencyBinding) => Promise<RouteReply>,
): Promise<RouteReply> {
  const key = parseIdempotencyKey(req.headers[IDEMPOTENCY_HEADER.toLowerCase()]);
  if (key === null) return run();
  const path = req.baseUrl + req.path;
  const scope = { username, method: req.method, path, key };
  const state = await deps.store.state(scope, requestFingerprint(req.method, path, parts.query, parts.body));
  if (state.kind === 'replay') return replayed(state.reply);
  if (state.kind === 'bound') {
    const op = await deps.operations.get(state.operationId);
    if (op) return markReplayed(acceptedReply(op, deps.config));
  }
  // A key naming an operation that is gone (kept longer than the operation's history) no
  // longer protects anything: the request runs afresh, unbound.
  const binding = state.kind === 'free' ? state.binding : undefined;

  let reply: RouteReply;
  try {
    reply = await run(binding);
  } catch (err) {
    // A concurrent request with this key answered first without making an operation: say the same.
    if (err instanceof IdempotencyKeyAnsweredError) {
      const again = await deps.store.state(scope, binding!.fingerprint);
      if (again.kind === 'replay') return replayed(again.reply);
      throw err;
    }
    // A 4xx says the request itself is wrong (invalid, unknown server, already finished):
    // sending it again would get the same answer, so it is kept and replayed like a success.
    // A 5xx (provider not configured, Redis trouble, a bug) may well pass on a retry, so it is
    // not kept and the retry runs afresh.
    if (err instanceof EngineError && err.httpStatus < 500) reply = engineErrorReply(err, traceId);
    else throw err;
  }
  // A streamed answer cannot be kept; a 5xx is not.
  if ('stream' in reply || reply.status >= 500 || !binding) return reply;
  const kept = await deps.store.keep(scope, binding, { status: reply.status, headers: reply.headers ?? {}, body: JSON.stringify(reply.body ?? null) });
  if (kept.kind === 'replay') return replayed(kept.reply);
  return kept.repeated ? markReplayed(reply) : reply;
}
