/**
 * The run lease of an operation (see runFenced in run-operation.ts) taken together with the
 * operation's journal, and given back together with dropping a finished run's journal: each
 * pair is one script, so a run costs two round trips here rather than four. The lease itself
 * is the same key, holder token and expiry that core/lease.ts takes and renews, so the renewal
 * timer and the hand-back of parked jobs (hand-back-parked.ts) work on it unchanged.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../core/keys.js';
import { luaScript } from '../core/lua.js';

// KEYS: the lease, the journal. ARGV: holder, ms. {1, journal's field/value pairs} when the
// holder has the lease (newly or still), {0} when another does (the journal is not read then).
const BEGIN_RUN = `
local held = redis.call('GET', KEYS[1])
if not held then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
elseif held == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2])
else return {0} end
return {1, redis.call('HGETALL', KEYS[2])}`;

// KEYS: the lease, the journal. ARGV: holder, '1' to drop the journal (the run finished the
// operation: nothing will replay it any more). The lease is released only by its holder.
const END_RUN = `
if ARGV[2] == '1' then redis.call('DEL', KEYS[2]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

/** The run lease's key of an operation. */
export const runLeaseKey = (keys: Keys, operationId: string): string => keys.lock(`run:${operationId}`);

/**
 * Takes (or keeps) the run lease for `ms` and reads the journal in the same step: the journal's
 * fields when `holder` has the lease, null when another run holds it.
 */
export async function beginRun(redis: Redis, keys: Keys, operationId: string, holder: string, ms: number): Promise<Record<string, string> | null> {
  const reply = (await luaScript(redis, 'peBeginRun', BEGIN_RUN, 2)(runLeaseKey(keys, operationId), keys.journal(operationId), holder, String(ms))) as [number, string[]?];
  if (reply[0] !== 1) return null;
  const flat = reply[1] ?? [];
  const fields: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fields;
}

/** Gives the run lease back if `holder` still has it and, with `dropJournal`, drops the journal. */
export async function endRun(redis: Redis, keys: Keys, operationId: string, holder: string, dropJournal: boolean): Promise<void> {
  await luaScript(redis, 'peEndRun', END_RUN, 2)(runLeaseKey(keys, operationId), keys.journal(operationId), holder, dropJournal ? '1' : '0');
}
