import { principalId } from '../../core/auth/identity.js';
import { IDEMPOTENCY_HEADER, parseIdempotencyKey, requestFingerprint, type IdempotencyBinding, type IdempotencyStore } from '../../core/idempotency.js';
import type { Operation } from '../../core/operations/model.js';
import { answerUnderKey, type KeptAnswer } from '../idempotent.js';
import type { RouteInput } from '../route.js';

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
  run: (binding?: IdempotencyBinding) => Promise<KeptAnswer>,
  fromOperation: (op: Operation) => Promise<KeptAnswer>,
  operations: { get(id: string): Promise<Operation | null> },
): Promise<KeptAnswer> {
  const key = parseIdempotencyKey(input.headers[IDEMPOTENCY_HEADER.toLowerCase()]);
  if (key === null) return run();
  const path = input.path.split('?')[0]!;
  const scope = { username: principalId(input.identity), method, path, key };
  return answerUnderKey(store, operations, scope, requestFingerprint(method, path, input.query, input.body), { run, fromOperation, keptRefusal: () => null });
}
