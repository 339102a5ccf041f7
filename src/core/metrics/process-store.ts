/**
 * Where each process (every worker, every API replica) leaves its own engine series for the
 * API's scrape: its registry's `getMetricsAsJSON()` under `<prefix>:metrics:proc:<id>` with a
 * TTL of a few push intervals, and its id in the set `<prefix>:metrics:procs`, so a scrape
 * reads every live process in one round trip without scanning. A process that stops rewriting
 * its key (killed, or stopped and gone) drops out once the TTL passes; the reader prunes its
 * id then.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import { luaScript } from '../lua.js';

/** One process's metrics as prom-client's `getMetricsAsJSON()` gives them. */
export type ProcessMetricsJson = unknown[];

// Reads every listed process's metrics (id, value, id, value, …) and forgets the ids whose key lapsed, in one step.
const READ_PROCESS_METRICS = `
local index, prefix = ARGV[1], ARGV[2]
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', index)) do
  local v = redis.call('GET', prefix .. id)
  if v then
    out[#out + 1] = id
    out[#out + 1] = v
  else
    redis.call('SREM', index, id)
  end
end
return out`;

export async function writeProcessMetrics(redis: Redis, keys: Keys, id: string, metrics: ProcessMetricsJson, ttlMs: number): Promise<void> {
  await redis.multi().set(keys.metricsOfProcess(id), JSON.stringify(metrics), 'PX', ttlMs).sadd(keys.metricsProcesses(), id).exec();
}

/** Every live process's metrics but `exceptId`'s; a value that is not a JSON array (written by something else) is skipped. */
export async function readProcessMetrics(redis: Redis, keys: Keys, exceptId?: string): Promise<ProcessMetricsJson[]> {
  const raw = (await luaScript(redis, 'peReadProcessMetrics', READ_PROCESS_METRICS)(keys.metricsProcesses(), keys.metricsOfProcess(''))) as string[];
  const out: ProcessMetricsJson[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i] === exceptId) continue;
    try {
      const parsed: unknown = JSON.parse(raw[i + 1]!);
      if (Array.isArray(parsed)) out.push(parsed);
    } catch {
      // A damaged value costs that process's series this scrape, not the scrape.
    }
  }
  return out;
}
