/**
 * Glossary
 * - journal: what one operation's processor has done so far, in one Redis hash beside the
 *   operation (`<prefix>:op:<id>:journal`): each finished step's result (`s:<name>`), each
 *   wait's outcome (`w:<name>`, written by the watcher), the operation's deadline.
 * - step: one named piece of a processor whose result is kept; a run that resumes (after a
 *   wait, a crash, a rate-limit pause) gets the kept result instead of doing it again.
 * - intent: a mark written just before a step that changes something at a provider runs
 *   (`i:<name>`); a rerun finding the mark without a result knows an earlier run may have
 *   got as far as the provider, and looks there before sending again.
 * - cleanup note: a server a cancel's cleanup found and is about to remove (`c:<server id>`);
 *   a later try of the cleanup (a retry, a rerun after a crash) still reports it when an
 *   earlier try removed it and died before hearing back.
 * - park: an operation waiting on the cloud gives its worker slot back: its job is moved to
 *   BullMQ's delayed set until its deadline, and the watcher of its provider account wakes
 *   it when the wait is over (see run-operation.ts, waiting/registry.ts and waiting/watcher.ts).
 */
import type { Redis } from 'ioredis';
import type { Keys } from '../core/keys.js';
import { luaScript } from '../core/lua.js';
import { isRateLimited } from '../providers/adapter-kit.js';
import type { WaitCheck } from '../common/provider.js';

// KEYS: the journal. ARGV: deadline, then optionally a field and its value. Sets the deadline
// unless one is there, then the field; returns the deadline kept.
const WRITE_WITH_DEADLINE = `
redis.call('HSETNX', KEYS[1], 'deadline', ARGV[1])
if ARGV[2] then redis.call('HSET', KEYS[1], ARGV[2], ARGV[3]) end
return redis.call('HGET', KEYS[1], 'deadline')`;

/** A rate-limited request was not carried out: the budget held it back or the provider answered 429. */
const notSent = isRateLimited;

export class Journal {
  /** Set while the deadline this run fixed is known here but not yet written (see fixDeadline). */
  private deadlineUnsaved = false;

  private constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly fields: Record<string, string>,
  ) {}

  static async load(redis: Redis, keys: Keys, operationId: string): Promise<Journal> {
    const key = keys.journal(operationId);
    return new Journal(redis, key, await redis.hgetall(key));
  }

  /** The journal from fields already read (the run's start reads them with its lease, see run-lease.ts). */
  static of(redis: Redis, keys: Keys, operationId: string, fields: Record<string, string>): Journal {
    return new Journal(redis, keys.journal(operationId), fields);
  }

  /** The wait the operation was parked on when its last run ended, if any. */
  get parkedOn(): string | undefined {
    return this.fields.parked;
  }

  /** Set when the engine itself delayed the job (a wait, a rate-limit pause): the next run resumes rather than retries. */
  get resuming(): boolean {
    return this.fields.resume === '1';
  }

  /** The engine itself puts the job to sleep (a rate-limit pause): its next run resumes, it is no new attempt. */
  async markResuming(): Promise<void> {
    await this.write('resume', '1');
  }

  get deadline(): number | undefined {
    return this.fields.deadline ? Number(this.fields.deadline) : undefined;
  }

  /**
   * Fixes the deadline on the first run; later runs keep the first one. It is written with the
   * run's first write to the journal (a step's intent mark or result, a pause) or, at the
   * latest, when the run hands the operation back (saveDeadline), not in a round trip of its
   * own: a run that dies before writing anything has done nothing a later run would replay,
   * and that run fixes the same deadline again from the operation's `started_at`.
   */
  async fixDeadline(deadline: number): Promise<number> {
    if (this.deadline !== undefined) return this.deadline;
    this.fields.deadline = String(deadline);
    this.deadlineUnsaved = true;
    return deadline;
  }

  /** Writes the deadline this run fixed, if it has not been written yet; for a run that hands the operation back. */
  async saveDeadline(): Promise<void> {
    if (this.deadlineUnsaved) await this.write();
  }

  /**
   * Sets `field` (if any) and, in the same round trip, the deadline still unwritten. The
   * deadline is only set if absent: lost only to a run racing this one (a stalled job re-run),
   * and then theirs stands.
   */
  private async write(field?: string, value?: string): Promise<void> {
    if (!this.deadlineUnsaved) {
      if (field === undefined) return;
      await this.redis.hset(this.key, field, value!);
      this.fields[field] = value!;
      return;
    }
    // A script, not a pipeline: ioredis copies every script defined on the connection into each
    // pipeline it makes, which on the engine's connection costs more than the round trip saved.
    const kept = (await luaScript(this.redis, 'peJournalWrite', WRITE_WITH_DEADLINE, 1)(this.key, this.fields.deadline!, ...(field === undefined ? [] : [field, value!]))) as string;
    this.deadlineUnsaved = false;
    this.fields.deadline = kept;
    if (field !== undefined) this.fields[field] = value!;
  }

  has(name: string): boolean {
    return `s:${name}` in this.fields;
  }

  /** A step's kept result, for readers other than the step itself (a cleanup after a cancel). */
  kept<T>(name: string): T | undefined {
    const raw = this.fields[`s:${name}`];
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  /** Whether a run began the step: its intent mark or its result is there. */
  begun(name: string): boolean {
    return `i:${name}` in this.fields || `s:${name}` in this.fields;
  }

  /** The names of every step begun so far, in no particular order. */
  begunSteps(): string[] {
    const names = new Set<string>();
    for (const field of Object.keys(this.fields)) if (field.startsWith('i:') || field.startsWith('s:')) names.add(field.slice(2));
    return [...names];
  }

  /**
   * Runs `fn` once per operation: a later run gets the kept result. With `intent`, a mark is
   * written first and `fn` learns whether an earlier run started it without finishing.
   */
  async step<T>(name: string, fn: (rerun: boolean, since: number) => Promise<T>, opts: { intent?: boolean } = {}): Promise<T> {
    const kept = this.fields[`s:${name}`];
    if (kept !== undefined) return JSON.parse(kept) as T;
    let rerun = false;
    // When the first run to start this step began (the intent mark's time), or now.
    let since = Date.now();
    if (opts.intent) {
      rerun = `i:${name}` in this.fields;
      if (rerun) since = Number(this.fields[`i:${name}`]);
      else await this.write(`i:${name}`, String(since));
    }
    let result: T;
    try {
      result = await fn(rerun, since);
    } catch (err) {
      // Refused before it reached the provider (the budget, a 429): nothing to look for on the
      // next run, so it need not spend a lookup. After a rerun the earlier run's mark stays.
      if (opts.intent && !rerun && notSent(err)) {
        await this.redis.hdel(this.key, `i:${name}`);
        delete this.fields[`i:${name}`];
      }
      throw err;
    }
    await this.write(`s:${name}`, JSON.stringify(result ?? null));
    return result;
  }

  /** Keeps what a cleanup found before it acts on it, for the cleanup's later tries. */
  async noteCleanup(id: string, value: unknown): Promise<void> {
    await this.write(`c:${id}`, JSON.stringify(value));
  }

  /** What earlier tries of a cleanup found, by id. */
  cleanupNotes<T>(): Map<string, T> {
    const notes = new Map<string, T>();
    for (const [field, raw] of Object.entries(this.fields)) if (field.startsWith('c:')) notes.set(field.slice(2), JSON.parse(raw) as T);
    return notes;
  }

  /** What the watcher found for a wait, once it is over. */
  outcome(name: string): WaitCheck | undefined {
    const raw = this.fields[`w:${name}`];
    return raw === undefined ? undefined : (JSON.parse(raw) as WaitCheck);
  }

  /** When the wait first began, kept across wakes that found it not over. */
  since(name: string): number | undefined {
    const raw = this.fields[`since:${name}`];
    return raw === undefined ? undefined : Number(raw);
  }
}
