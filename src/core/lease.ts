/**
 * A lease: a Redis key held by one process (its holder token) for a while, so one of many
 * processes does a thing at a time (read a catalogue miss, watch an account). Taking and
 * renewing are one atomic step, and only the holder can renew or release it, so a process
 * whose lease ran out cannot take it back from the one that has it now.
 */
import type { Redis } from 'ioredis';
import { luaScript } from './lua.js';

// ARGV: key, holder, ms. 1 when the holder has the lease (newly or still), 0 when another does.
const HOLD = `
local held = redis.call('GET', ARGV[1])
if not held then redis.call('SET', ARGV[1], ARGV[2], 'PX', ARGV[3]) return 1 end
if held == ARGV[2] then redis.call('PEXPIRE', ARGV[1], ARGV[3]) return 1 end
return 0`;

// ARGV: key, holder.
const RELEASE = `if redis.call('GET', ARGV[1]) == ARGV[2] then return redis.call('DEL', ARGV[1]) end return 0`;

/** Takes the lease for `ms`, or keeps it for `ms` more when `holder` has it already. */
export async function holdLease(redis: Redis, key: string, holder: string, ms: number): Promise<boolean> {
  return (await luaScript(redis, 'peHoldLease', HOLD)(key, holder, String(ms))) === 1;
}

/** Gives the lease up at once if `holder` still has it; a lease another holds is left alone. */
export async function releaseLease(redis: Redis, key: string, holder: string): Promise<void> {
  await luaScript(redis, 'peReleaseLease', RELEASE)(key, holder);
}
