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
import type { Operation } from '../core/operations/model.js';
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

/** An answer, as opposed to a stream; only answers are kept under a key. */
export type KeptAnswer = Extract<RouteReply, { status: number }>;

/** An answer given again: marked so the client can tell. */
const markReplayed = (reply: KeptAnswer): KeptAnswer => ({ ...reply, headers: { ...reply.headers, [REPLAYED_HEADER]: 'true' } });

const replayed = (reply: StoredReply): KeptAnswer => markReplayed({ status: reply.status, headers: reply.headers, body: JSON.parse(reply.body) as unknown });

/** Who holds a key: the caller, the request's method and path, and the key it sent. */
export type KeyScope = Parameters<IdempotencyStore['state']>[0];

/** How one family of routes answers under a key (see answerUnderKey). */
export interface KeyedRun<R extends RouteReply> {
  /** Validates and handles the request; gets the key's binding to pass to the operation write. */
  run(binding?: IdempotencyBinding): Promise<R>;
  /** The answer for a key whose operation was made but whose answer was never kept (the API stopped in between). */
  fromOperation(op: Operation): KeptAnswer | Promise<KeptAnswer>;
  /** A refusal to keep and replay like an answer; null: it is thrown and nothing is kept. */
  keptRefusal(err: unknown): KeptAnswer | null;
}

/**
 * Answers a request under its key: the first request with a key runs and its answer is kept;
 * a later one with the same key and body gets that answer again with `Idempotent-Replayed:
 * true`. The run gets the key's binding to pass to the operation write, which binds the key
 * in the same step (see core/idempotency.ts for why nothing is held while it runs). The `/v1`
 * routes and the droplets API differ only in `how`.
 */
export async function answerUnderKey<R extends RouteReply>(
  store: IdempotencyStore,
  operations: Pick<OperationStore, 'get'>,
  scope: KeyScope,
  fingerprint: string,
  how: KeyedRun<R>,
): Promise<R | KeptAnswer> {
  const state = await store.state(scope, fingerprint);
  if (state.kind === 'replay') return replayed(state.reply);
  if (state.kind === 'bound') {
    const op = await operations.get(state.operationId);
    if (op) return markReplayed(await how.fromOperation(op));
  }
  // A key naming an operation that is gone (kept longer than the operation's history) no
  // longer protects anything: the request runs afresh, unbound.
  const binding = state.kind === 'free' ? state.binding : undefined;

  let reply: R | KeptAnswer;
  try {
    reply = await how.run(binding);
  } catch (err) {
    // A concurrent request with this key answered first without making an operation: say the same.
    if (err instanceof IdempotencyKeyAnsweredError && binding) {
      const again = await store.state(scope, binding.fingerprint);
      if (again.kind === 'replay') return replayed(again.reply);
      throw err;
    }
    const refusal = how.keptRefusal(err);
    if (refusal === null) throw err;
    reply = refusal;
  }
  // A streamed answer cannot be kept; a 5xx is not.
  if ('stream' in reply || reply.status >= 500 || !binding) return reply;
  const kept = await store.keep(scope, binding, { status: reply.status, headers: reply.headers ?? {}, body: JSON.stringify(reply.body ?? null) });
  if (kept.kind === 'replay') return replayed(kept.reply);
  return kept.repeated ? markReplayed(reply) : reply;
}

/**
 * Runs a `/v1` route's validation and handler under the request's Idempotency-Key, if it sent
 * one (see answerUnderKey). A key bound to an operation whose answer was never kept answers
 * with the operation as accepted.
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
  return answerUnderKey(deps.store, deps.operations, { username, method: req.method, path, key }, requestFingerprint(req.method, path, parts.query, parts.body), {
    run,
    fromOperation: (op) => acceptedReply(op, deps.config),
    // A 4xx says the request itself is wrong (invalid, unknown server, already finished):
    // sending it again would get the same answer, so it is kept and replayed like a success.
    // A 5xx (provider not configured, Redis trouble, a bug) may well pass on a retry, so it is
    // not kept and the retry runs afresh.
    keptRefusal: (err) => (err instanceof EngineError && err.httpStatus < 500 ? engineErrorReply(err, traceId) : null),
  });
}
