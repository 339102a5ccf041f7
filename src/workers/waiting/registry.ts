/**
 * The waits of every parked operation, per provider account: a sorted set of operation ids
 * scored by when the account's watcher should next look, and a hash of what each one waits
 * for. Together with the job's place in BullMQ's delayed set (until the deadline), this is
 * all a waiting operation is: no worker slot, no timer in any process.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../../core/keys.js';
import { luaScript, type ScriptRunner } from '../../core/lua.js';
import type { ProviderName, ServerWait, WaitCheck } from '../../common/provider.js';

export interface WaitEntry {
  operationId: string;
  /** The journal's name for this wait; its outcome is written as `w:<name>`. */
  name: string;
  provider: ProviderName;
  account: string;
  /** What for, at which server, which actions; `since` is when the wait began. */
  wait: ServerWait & { since: number };
  /** Epoch ms; the job sleeps until then when nothing wakes it earlier. */
  deadline: number;
  /** The provider's last reported status, so progress is written only when it changes. */
  lastStatus?: string;
}

/**
 * ARGV: prefix, waits key, specs key, number of waits over, then per wait over: operation id,
 * wait name, outcome JSON; then per wait still waiting: operation id, wait name, next look,
 * its spec JSON when it changed (else ''). Each is applied only while the operation's
 * registered wait has that name. Returns the ids whose outcome was written.
 */
const RECORD_ROUND = `
local prefix, waits, specs = ARGV[1], ARGV[2], ARGV[3]
local n_over = tonumber(ARGV[4])
local function current(id, name)
  local spec = redis.call('HGET', specs, id)
  if not spec then return false end
  local ok, decoded = pcall(cjson.decode, spec)
  return ok and decoded.name == name
end
local written = {}
local i = 5
for _ = 1, n_over do
  local id, name, outcome = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  i = i + 3
  if current(id, name) then
    redis.call('HSETNX', prefix .. ':op:' .. id .. ':journal', 'w:' .. name, outcome)
    redis.call('ZREM', waits, id)
    redis.call('HDEL', specs, id)
    written[#written + 1] = id
  end
end
while i <= #ARGV do
  local id, name, next_look, spec = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  i = i + 4
  if current(id, name) then
    -- XX: an operation cleared meanwhile (cancelled, woken at its deadline) must not come back.
    redis.call('ZADD', waits, 'XX', next_look, id)
    if spec ~= '' then redis.call('HSET', specs, id, spec) end
  end
end
return written`;

export class WaitRegistry {
  private readonly recordScript: ScriptRunner;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.recordScript = luaScript(redis, 'peRecordWaitRound', RECORD_ROUND);
  }

  /** Records the wait and marks the journal parked on it, in one transaction. */
  async register(entry: WaitEntry, firstLookAt: number): Promise<void> {
    const journal = this.keys.journal(entry.operationId);
    await this.redis
      .multi()
      .hset(this.keys.waitSpecs(entry.account), entry.operationId, JSON.stringify(entry))
      .zadd(this.keys.waits(entry.account), String(firstLookAt), entry.operationId)
      .hset(journal, 'parked', entry.name, 'resume', '1')
      .hsetnx(journal, `since:${entry.name}`, String(entry.wait.since))
      .exec();
  }

  /** Forgets an operation's wait: it is running again. */
  async clear(account: string, operationId: string): Promise<void> {
    await this.redis
      .multi()
      .zrem(this.keys.waits(account), operationId)
      .hdel(this.keys.waitSpecs(account), operationId)
      .hdel(this.keys.journal(operationId), 'parked', 'resume')
      .exec();
  }

  /** When the account's watcher should look next (epoch ms), or null when nothing waits. */
  async nextLookAt(account: string): Promise<number | null> {
    const first = await this.redis.zrange(this.keys.waits(account), '0', '0', 'WITHSCORES');
    return first.length === 2 ? Number(first[1]) : null;
  }

  async count(account: string): Promise<number> {
    return this.redis.zcard(this.keys.waits(account));
  }

  async all(account: string): Promise<WaitEntry[]> {
    const raw = await this.redis.hgetall(this.keys.waitSpecs(account));
    const entries: WaitEntry[] = [];
    for (const value of Object.values(raw)) {
      try {
        entries.push(JSON.parse(value) as WaitEntry);
      } catch {
        // A value this version cannot read would stall the round for everyone: skip it.
      }
    }
    return entries;
  }

  /**
   * Writes what one round found: outcomes of the waits that are over (into their journals,
   * before their jobs are woken), and the next look for those still waiting. Only for waits
   * still registered as the round saw them: a round slow enough for the lease to pass to
   * another watcher may come back after that one has ended the wait and the operation has
   * moved on to its next, and must then write nothing, above all no outcome for a wait that
   * is over (an outcome, once written, stands). Returns the operation ids whose outcome it wrote.
   */
  async record(
    account: string,
    over: Array<{ entry: WaitEntry; check: WaitCheck }>,
    still: Array<{ entry: WaitEntry; nextLookAt: number; changed: boolean }>,
  ): Promise<Set<string>> {
    if (over.length === 0 && still.length === 0) return new Set();
    const args: string[] = [this.keys.prefix, this.keys.waits(account), this.keys.waitSpecs(account), String(over.length)];
    for (const { entry, check } of over) args.push(entry.operationId, entry.name, JSON.stringify(check));
    for (const { entry, nextLookAt, changed } of still) args.push(entry.operationId, entry.name, String(nextLookAt), changed ? JSON.stringify(entry) : '');
    const written = (await this.recordScript(...args)) as string[];
    return new Set(written);
  }

  /** Removes ids from the schedule that have no spec (left behind by an interrupted write). */
  async dropOrphans(account: string, known: Set<string>): Promise<void> {
    const ids = await this.redis.zrange(this.keys.waits(account), '0', '-1');
    const orphans = ids.filter((id) => !known.has(id));
    if (orphans.length > 0) await this.redis.zrem(this.keys.waits(account), ...orphans);
  }
}
