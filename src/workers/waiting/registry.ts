/**
 * The waits of every parked operation, per provider account: a sorted set of operation ids
 * scored by when the account's watcher should next look, and a hash of what each one waits
 * for. Together with the job's place in BullMQ's delayed set (until the deadline), this is
 * all a waiting operation is: no worker slot, no timer in any process.
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../../core/keys.js';
import type { ProviderName, ServerWait, WaitCheck } from '../../providers/types.js';

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

export class WaitRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

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
   * before their jobs are woken), and the next look for those still waiting.
   */
  async record(
    account: string,
    over: Array<{ entry: WaitEntry; check: WaitCheck }>,
    still: Array<{ entry: WaitEntry; nextLookAt: number; changed: boolean }>,
  ): Promise<void> {
    if (over.length === 0 && still.length === 0) return;
    const tx = this.redis.multi();
    for (const { entry, check } of over) {
      tx.hset(this.keys.journal(entry.operationId), `w:${entry.name}`, JSON.stringify(check));
      tx.zrem(this.keys.waits(account), entry.operationId);
      tx.hdel(this.keys.waitSpecs(account), entry.operationId);
    }
    for (const { entry, nextLookAt, changed } of still) {
      // XX: an operation cleared meanwhile (cancelled, woken at its deadline) must not come back.
      tx.zadd(this.keys.waits(account), 'XX', String(nextLookAt), entry.operationId);
      if (changed) tx.hset(this.keys.waitSpecs(account), entry.operationId, JSON.stringify(entry));
    }
    await tx.exec();
  }

  /** Removes ids from the schedule that have no spec (left behind by an interrupted write). */
  async dropOrphans(account: string, known: Set<string>): Promise<void> {
    const ids = await this.redis.zrange(this.keys.waits(account), '0', '-1');
    const orphans = ids.filter((id) => !known.has(id));
    if (orphans.length > 0) await this.redis.zrem(this.keys.waits(account), ...orphans);
  }
}
