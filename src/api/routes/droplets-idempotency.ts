import { principalId } from '../../core/auth/identity.js';
import {
  IDEMPOTENCY_HEADER,
  IdempotencyKeyAnsweredError,
  parseIdempotencyKey,
  REPLAYED_HEADER,
  requestFingerprint,
  type IdempotencyBinding,
  type IdempotencyStore,
  type StoredReply,
} from '../../core/idempotency.js';
import type { Operation } from '../../core/operations/model.js';
import type { RouteInput, RouteReply } from '../route.js';

type Reply = Extract<RouteReply, { status: number }>;

const replayed = (reply: StoredReply): Reply => ({ status: reply.status, headers: { ...reply.headers, [REPLAYED_HEADER]: 'true' }, body: JSON.parse(reply.body) as unknown });

/**
 * `Idempotency-Key` for the droplets API, with the guarantees of the `/v1` routes (see
 * api/idempotent.ts and core/idempotency.ts): the key is bound to the operation in the same
 * write that makes it, so a resend, even one arriving at the same time, makes nothing twice,
 * and the first answer is given again with `Idempotent-Replayed: true`. It differs in what it
 * keeps: only answers that were given (the droplet, the action); a refusal is thrown to the
 * router's `{"detail": …}` handler and not kept, and a resend that is refused again gets the
 * same refusal, since nothing was made. `fromOperation` answers for a key whose operation was
 * made but whose answer never went out (the API stopped in between).
 */
export async function runDropletIdempotently(
  store: IdempotencyStore,
  input: RouteInput,
  method: string,
  run: (binding?: IdempotencyBinding) => Promise<Reply>,
  fromOperation: (op: Operation) => Promise<Reply>,
  operations: { get(id: string): Promise<Operation | null> },
): Promise<Reply> {
  const key = parseIdempotencyKey(input.headers[IDEMPOTENCY_HEADER.toLowerCase()]);
  if (key === null) return run();
  const path = input.path.split('?')[0]!;
  const scope = { username: principalId(input.identity), method, path, key };
  const fingerprint = requestFingerprint(method, path, input.query, input.body);
  const state = await store.state(scope, fingerprint);
  if (state.kind === 'replay') return replayed(state.reply);
  if (state.kind === 'bound') {
    const op = await operations.get(state.operationId);
    if (op) {
      const reply = await fromOperation(op);
      return { ...reply, headers: { ...reply.headers, [REPLAYED_HEADER]: 'true' } };
    }
  }
  const binding = state.kind === 'free' ? state.binding : undefined;
  let reply: Reply;
  try {
    reply = await run(binding);
  } catch (err) {
    if (err instanceof IdempotencyKeyAnsweredError && binding) {
      const again = await store.state(scope, binding.fingerprint);
      if (again.kind === 'replay') return replayed(again.reply);
    }
    throw err;
  }
  if (!binding) return reply;
  const kept = await store.keep(scope, binding, { status: reply.status, headers: reply.headers ?? {}, body: JSON.stringify(reply.body ?? null) });
  if (kept.kind === 'replay') return replayed(kept.reply);
  return kept.repeated ? { ...reply, headers: { ...reply.headers, [REPLAYED_HEADER]: 'true' } } : reply;
}
