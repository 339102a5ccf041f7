import type { CoreContext } from '../../core/context.js';
import { isAbort } from '../../common/errors.js';
import type { Operation } from '../../core/operations/model.js';
import { isNotFound, waitInProcess, type InProcessTiming } from '../../providers/adapter-kit.js';
import type { CallContext, Provider, ProviderServer, ServerWait, StepOutcome } from '../../common/provider.js';
import { Journal } from '../journal.js';
import type { Compensation } from '../run-operation.js';

/**
 * How long a cleanup follows a server before it settles for one read. The cleanup's own
 * deadline (finishCleanedUp gives it five minutes) bounds it as well.
 */
const FOLLOW_LIMIT_MS = 4 * 60 * 1000;

/** What the journal says of the moves runMoves made under one name. */
interface MovesSeen {
  /** A move was marked (intent) or kept: this or an earlier run may have sent a mutation. */
  maybeSent: boolean;
  /** The newest kept move, when no later move was begun: its wait is what the server is on its way to. */
  last: StepOutcome | null;
}

/**
 * Reads the marks runMoves leaves in the operation's journal (an intent before a move is
 * sent, a result once it is kept; runMoves names its stages `<name>#<n>`). Loaded afresh
 * rather than taken from this run, so a cleanup re-run by another worker after a crash knows
 * as much as the run that died.
 */
async function movesInJournal(ctx: CoreContext, operationId: string, name: string): Promise<MovesSeen> {
  const journal = await Journal.load(ctx.redis, ctx.keys, operationId);
  const stage = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}#(\\d+)$`);
  let newestBegun = -1;
  let newestKept = -1;
  for (const step of journal.begunSteps()) {
    const m = stage.exec(step);
    if (!m) continue;
    const n = Number(m[1]);
    newestBegun = Math.max(newestBegun, n);
    if (journal.has(step)) newestKept = Math.max(newestKept, n);
  }
  const last = newestKept >= 0 && newestKept === newestBegun ? (journal.kept<StepOutcome>(`${name}#${newestKept}`) ?? null) : null;
  return { maybeSent: newestBegun >= 0, last };
}

/**
 * Follows a server a mutation may have been sent to until it settles: gone, or in a status it
 * keeps (not busy, starting, stopping, deleting). The wait the last kept move named comes
 * first (it knows the provider's action and its goal, such as UpCloud's stop, which reads
 * `started` until it is done); a move still in flight named none, so then any settled status
 * will do. Returns null when the server is gone.
 */
async function followUntilSettled(provider: Provider, providerId: string, seen: MovesSeen, call: CallContext, timing: InProcessTiming): Promise<ProviderServer | null> {
  const follow = (wait: ServerWait) => waitInProcess(provider, { ...wait, since: 0 }, call, timing);
  if (seen.last?.wait) {
    try {
      return await follow(seen.last.wait);
    } catch (err) {
      // The wait failed (an action errored, the server vanished or is being deleted, it took
      // too long): the server's own status decides below.
      if (isAbort(err)) throw err;
    }
  }
  try {
    return await follow({ providerId, until: 'settled', label: `${provider.name} server ${providerId} to settle` });
  } catch (err) {
    if (isAbort(err)) throw err;
    if (!isNotFound(err)) return provider.getServer(providerId, call);
  }
  // Gone, or on its way out (Hetzner's `deleting`): follow it out.
  try {
    return await follow({ providerId, until: 'gone', label: `${provider.name} server ${providerId} to be deleted` });
  } catch (err) {
    if (isAbort(err)) throw err;
    return provider.getServer(providerId, call);
  }
}

/**
 * The result an operation whose work the provider had already carried out completes with
 * instead of ending cancelled, judged from the settled server (null: gone) and whether the
 * provider accepted a move (one was kept, not only marked); null when the work did not happen.
 */
export type EffectCheck = (server: ProviderServer | null, accepted: boolean) => Record<string, unknown> | null;

/**
 * A delete, action or resize cut short by a cancel cannot be undone, but the provider may
 * already have carried it out. When the journal shows a move of `moves` may have been sent,
 * the server is followed until it settles, so the inventory gets its final state rather than
 * the middle of a transition; otherwise one read is enough. The inventory then follows the
 * provider: the entry is removed when the server is gone and rewritten otherwise. Everything
 * here is a read or an idempotent write, so a cleanup re-run after a crash does it all again.
 * When `effect` finds the work done (a delete: the server is gone), the operation completes
 * with its result.
 */
export function refreshServerOnCancel(ctx: CoreContext, provider: Provider, op: Operation, moves: string, effect?: EffectCheck): Compensation {
  const target = op.target as { server_id: string; provider_id: string };
  return async (signal) => {
    const call: CallContext = { signal };
    const seen = await movesInJournal(ctx, op.id, moves);
    const timing = { pollIntervalMs: ctx.config.worker.pollIntervalMs, waitTimeoutMs: FOLLOW_LIMIT_MS };
    const read = seen.maybeSent ? await followUntilSettled(provider, target.provider_id, seen, call, timing) : await provider.getServer(target.provider_id, call);
    const server = read?.status === 'gone' ? null : read;
    const completed = seen.maybeSent ? (effect?.(server, seen.last !== null) ?? undefined) : undefined;
    if (server === null) {
      await ctx.inventory.remove(target.server_id);
      const action = completed ? 'removed from inventory: deleted at the provider' : 'removed from inventory: already gone at the provider';
      return { cleaned_up: [{ resource: 'server', provider_id: target.provider_id, action }], completed };
    }
    const record = await ctx.inventory.upsert(server, { workspace: op.workspace, operationId: op.id });
    return { cleaned_up: [{ resource: 'server', provider_id: target.provider_id, action: `inventory refreshed: ${record.status}` }], completed };
  };
}
