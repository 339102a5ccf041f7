import { randomUUID } from 'node:crypto';
import type { Catalog } from '../catalog.js';
import type { CoreContext } from '../context.js';
import { EngineError, ErrorCodes } from '../../common/errors.js';
import { luaScript } from '../lua.js';
import { requestServerAction, requestServerCreate, requestServerDelete, requestServerResize, type CreateServerRequest } from '../servers/requests.js';
import { deleteTargetOf, requestTaskservCreate, requestTaskservDelete } from '../taskservs/requests.js';
import type { WorkflowRequest } from '../workflows/model.js';
import { submitWorkflow } from '../workflows/service.js';
import type { PowerAction } from '../../common/provider.js';
import { retryBlocker } from './actions.js';
import { isWorkflowType, type Operation } from './model.js';
import type { Actor } from './submit.js';
import { visibleOperation } from './visible.js';

/** A claim whose new operation never appeared (the API died between claim and write) may be taken over after this long. */
const STALE_CLAIM_MS = 60_000;

/**
 * ARGV: prefix, id, new id, now (ms), stale ms. Names the retry on the original before it is
 * written, so two retries of one operation (concurrent, or a client retrying without an
 * Idempotency-Key) cannot both make a new one. Returns {'ok'}, {'status', status},
 * {'retried', id} or {'not_found'}.
 */
const CLAIM_RETRY = `
local prefix, id, new_id, now, stale = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local key = prefix .. ':op:' .. id
local cur = redis.call('HMGET', key, 'status', 'retried_by', 'retry_claimed_at')
if not cur[1] then return {'not_found'} end
if cur[1] ~= 'failed' and cur[1] ~= 'cancelled' then return {'status', cur[1]} end
if cur[2] then
  local made = redis.call('EXISTS', prefix .. ':op:' .. cur[2]) == 1
  if made or (cur[3] and tonumber(cur[3]) + stale > now) then return {'retried', cur[2]} end
end
redis.call('HSET', key, 'retried_by', new_id, 'retry_claimed_at', tostring(now))
return {'ok'}`;

/** ARGV: prefix, id, new id. Gives a claim back when its operation was not written (refused, or an Idempotency-Key named another). */
const RELEASE_RETRY = `
local prefix, id, new_id = ARGV[1], ARGV[2], ARGV[3]
local key = prefix .. ':op:' .. id
if redis.call('HGET', key, 'retried_by') ~= new_id then return 0 end
if redis.call('EXISTS', prefix .. ':op:' .. new_id) == 1 then return 0 end
redis.call('HDEL', key, 'retried_by', 'retry_claimed_at')
return 1`;

function notRetryable(op: Operation, reason: string, message: string): EngineError {
  return new EngineError(ErrorCodes.OPERATION_NOT_RETRYABLE, message, { status: op.status, reason });
}

/**
 * `POST /v1/operations/{id}/retry`: a new operation with the same type, request, workspace and
 * provider as a failed or cancelled one, submitted through the same service a client's request
 * goes through (permissions, quotas, catalogue checks, Idempotency-Key). The new record's
 * `retry_of` names the original; the original's `retried_by` names the new one, written
 * before the new one so that no operation is retried twice. A workflow is retried by
 * submitting the workflow again.
 */
export async function retryOperation(ctx: CoreContext, id: string, actor: Actor, catalog?: Catalog): Promise<Operation> {
  const op = await visibleOperation(ctx, id, actor.access, 'operation_read');
  if (op.status !== 'failed' && op.status !== 'cancelled') {
    throw notRetryable(op, 'status', `operation ${id} is ${op.status}: only a failed or cancelled operation can be retried`);
  }
  const blocker = retryBlocker(op);
  if (blocker) throw new EngineError(ErrorCodes[blocker.code], blocker.message, { status: op.status, reason: blocker.code.toLowerCase(), ...(op.retried_by ? { retried_by: op.retried_by } : {}) });
  // A force-cancelled operation's worker may still be at work on it (its run lease is held):
  // what it made is not known yet, and a retry now could make it twice.
  if ((await ctx.redis.exists(ctx.keys.lock(`run:${id}`))) === 1) {
    throw notRetryable(op, 'worker_still_running', `operation ${id} ended, but a worker is still finishing its run; retry once it has let go (seconds to minutes)`);
  }

  const newId = randomUUID();
  const claim = (await luaScript(ctx.redis, 'peClaimRetry', CLAIM_RETRY)(ctx.keys.prefix, id, newId, String(Date.now()), String(STALE_CLAIM_MS))) as string[];
  if (claim[0] === 'not_found') throw new EngineError(ErrorCodes.OPERATION_NOT_FOUND, `operation ${id} does not exist`);
  if (claim[0] === 'status') throw notRetryable(op, 'status', `operation ${id} is ${claim[1]}: only a failed or cancelled operation can be retried`);
  if (claim[0] === 'retried') {
    // The same request sent twice at once with one Idempotency-Key: the first one's retry is the answer.
    const same = actor.idempotency ? await boundToKey(ctx, id, claim[1]!, actor.idempotency.key) : null;
    if (same) return same;
    throw new EngineError(ErrorCodes.OPERATION_ALREADY_RETRIED, `operation ${id} was already retried by operation ${claim[1]}; retry that one instead`, { status: op.status, reason: 'operation_already_retried', retried_by: claim[1] });
  }
  const release = () => luaScript(ctx.redis, 'peReleaseRetry', RELEASE_RETRY)(ctx.keys.prefix, id, newId).catch(() => 0);
  let made: Operation;
  try {
    made = await resubmit(ctx, op, { ...actor, retry: { of: id, id: newId } }, catalog);
  } catch (err) {
    await release();
    throw err;
  }
  // The request's Idempotency-Key already named another operation: that one is the answer, and this claim is void.
  if (made.id !== newId) await release();
  else ctx.logger.info('operation retried', { operation_id: newId, retry_of: id, trace_id: actor.traceId, workspace: op.workspace });
  return made;
}

/**
 * The operation the request's Idempotency-Key is bound to, once the concurrent request that
 * holds the claim (`claimedBy`) has written it; null when the claim is given back, the key
 * answered without an operation, or it takes longer than a few seconds.
 */
async function boundToKey(ctx: CoreContext, id: string, claimedBy: string, key: string): Promise<Operation | null> {
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    // Read the operation first: it and the key's binding are written in one step (CREATE_OPERATION).
    const made = (await ctx.redis.exists(ctx.keys.operation(claimedBy))) === 1;
    const [bound, answered] = await ctx.redis.hmget(key, 'operation_id', 'status');
    if (bound) return ctx.store.get(bound);
    if (answered || made) return null;
    if ((await ctx.redis.hget(ctx.keys.operation(id), 'retried_by')) !== claimedBy) return null;
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

/** The original request, sent again through its own service. */
async function resubmit(ctx: CoreContext, op: Operation, actor: Actor, catalog?: Catalog): Promise<Operation> {
  const r = op.request as Record<string, any>;
  const checks = catalog ? { catalogue: catalog } : {};
  if (isWorkflowType(op.type)) {
    const w = op.request as unknown as WorkflowRequest;
    return submitWorkflow(ctx, { workspace: op.workspace, workflow_type: w.workflow_type, parameters: structuredClone(w.parameters), on_failure: w.on_failure }, actor, catalog);
  }
  switch (op.type) {
    case 'server.create': {
      const { quota: _quota, user_data: _userData, ...rest } = r;
      const body = { ...rest, workspace: op.workspace, provider: op.provider, tags: Array.isArray(r.tags) ? r.tags : [], check_mode: r.check_mode === true } as CreateServerRequest;
      return requestServerCreate(ctx, body, actor, checks);
    }
    case 'server.delete':
      return requestServerDelete(ctx, String(r.server_id), { force: r.force === true }, actor);
    case 'server.action':
      return requestServerAction(ctx, String(r.server_id), r.action as PowerAction, actor);
    case 'server.resize':
      return requestServerResize(ctx, String(r.server_id), String(r.plan), actor, checks);
    case 'taskserv.create':
      return requestTaskservCreate(ctx, { workspace: op.workspace, name: String(r.name), servers: (r.server_ids ?? r.servers ?? []) as string[], config: r.config ?? {}, check_mode: r.check_mode === true }, actor);
    case 'taskserv.delete':
      return requestTaskservDelete(ctx, deleteTargetOf(op), {}, actor);
    default:
      throw notRetryable(op, 'type', `operations of type ${op.type} cannot be retried`);
  }
}
