/**
 * One watcher per provider account across the whole fleet: every worker process runs one
 * for each of its providers, and a Redis lease lets one of them act at a time (another takes
 * over within a lease when that process dies). A round asks the provider about every
 * waiting server at once (its listing, its action listing: see Provider.checkWaits), writes
 * each finished wait's outcome into the operation's journal and wakes its job.
 *
 * How often: each wait has its own next look, sooner while it is young (a server that
 * boots in 20 s is seen within about a second of it) and further apart as it grows old; a
 * round runs when the earliest one is due, and serves all of them.
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { CoreContext } from '../../core/context.js';
import { ErrorCodes, ProviderError } from '../../common/errors.js';
import { holdLease, releaseLease } from '../../core/lease.js';
import { wakeJob } from '../../core/queue.js';
import type { Provider } from '../../common/provider.js';
import { countingRequests, deferredLook } from '../../providers/request-budget.js';
import { WaitRegistry, type WaitEntry } from './registry.js';

const TICK_MS = 250;
const LEASE_MS = 5000;
/** A round that takes longer than this is abandoned and tried again. */
const ROUND_TIMEOUT_MS = 60_000;
const ABANDONED_AFTER_MS = 10 * 60_000;

export interface WatcherOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  /** Average ms between the watcher's requests, so it spends only its share of the account's budget (0: no limit). */
  requestSpacingMs?: number;
}

/** When to look at a wait again: about an eighth of its age, within the configured bounds. */
export function nextLookDelay(ageMs: number, opts: WatcherOptions): number {
  return Math.min(opts.maxIntervalMs, Math.max(opts.minIntervalMs, Math.round(ageMs / 8)));
}

export class AccountWatcher {
  private readonly registry: WaitRegistry;
  private readonly holder = randomUUID();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private ticking: Promise<void> = Promise.resolve();
  private pausedUntil = 0;

  constructor(
    private readonly ctx: CoreContext,
    private readonly provider: Provider,
    private readonly account: string,
    private readonly queue: Queue,
    private readonly opts: WatcherOptions,
  ) {
    this.registry = new WaitRegistry(ctx.redis, ctx.keys);
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.ticking = this.tick()
        .catch((err: unknown) => {
          this.ctx.logger.warn('watcher round failed', { provider: this.provider.name, error: (err as Error).message });
        })
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, TICK_MS);
        });
    };
    this.timer = setTimeout(loop, Math.floor(Math.random() * TICK_MS));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    // Hand the lease on at once rather than making the others wait it out.
    await releaseLease(this.ctx.redis, this.leaseKey(), this.holder).catch(() => undefined);
  }

  private leaseKey(): string {
    return this.ctx.keys.lock(`watch:${this.account}`);
  }

  private async tick(): Promise<void> {
    if (!(await holdLease(this.ctx.redis, this.leaseKey(), this.holder, LEASE_MS))) return;
    const now = Date.now();
    if (now < this.pausedUntil) return;
    const next = await this.registry.nextLookAt(this.account);
    if (next === null || next > now) return;
    await this.round();
  }

  /** One look at every waiting server of the account. */
  async round(): Promise<void> {
    const all = await this.registry.all(this.account);
    await this.registry.dropOrphans(this.account, new Set(all.map((e) => e.operationId)));
    // Past its deadline a wait is its job's to end (it wakes then); one whose job never came
    // back for it (removed by hand) is dropped a while later rather than watched for ever.
    const now0 = Date.now();
    const abandoned = all.filter((e) => e.deadline + ABANDONED_AFTER_MS < now0);
    for (const entry of abandoned) await this.registry.clear(this.account, entry.operationId);
    // Oldest first: where a provider's round answers for only so many waits (UpCloud's reads
    // in full, DigitalOcean's action reads), the ones waiting longest go first, so none starves.
    const entries = all.filter((e) => e.deadline + ABANDONED_AFTER_MS >= now0).sort((a, b) => a.wait.since - b.wait.since);
    if (entries.length === 0) return;
    const started = Date.now();
    // A round may outlast the lease (a big account's listing under a tight budget): keep
    // renewing it, so no other watcher starts a round of its own meanwhile; should it be lost
    // all the same, this round stops (what it would write is checked against the registry).
    const lost = new AbortController();
    const renew = setInterval(() => {
      holdLease(this.ctx.redis, this.leaseKey(), this.holder, LEASE_MS).then(
        (held) => (held ? undefined : lost.abort('the watcher lease passed to another process')),
        () => undefined,
      );
    }, LEASE_MS / 3);
    let checks;
    try {
      const round = await countingRequests('poll', () =>
        this.provider.checkWaits(
          entries.map((e) => e.wait),
          { signal: AbortSignal.any([AbortSignal.timeout(ROUND_TIMEOUT_MS), lost.signal]) },
        ),
      );
      checks = round.result;
      // A round that cost several pages buys that many spacings of quiet: the creates come
      // first. Counted from its start: a round the account's budget slowed down (its polls
      // drawing on their floor, one every so often) has already spent that time at its pace.
      this.pausedUntil = started + round.sent * (this.opts.requestSpacingMs ?? 0);
    } catch (err) {
      // Polls give way when the account's budget is low or the provider pushes back: look later.
      const limited = err instanceof ProviderError && err.code === ErrorCodes.PROVIDER_RATE_LIMITED;
      const pauseMs = limited ? Math.max(1000, (err.retryAfterSeconds ?? 1) * 1000) : this.opts.minIntervalMs * 2;
      this.pausedUntil = Date.now() + pauseMs;
      if (!limited && !lost.signal.aborted) this.ctx.logger.warn('watcher could not read the provider', { provider: this.provider.name, waits: entries.length, error: (err as Error).message });
      return;
    } finally {
      clearInterval(renew);
    }
    const now = Date.now();
    const over: Array<{ entry: WaitEntry; check: (typeof checks)[number] }> = [];
    const still: Array<{ entry: WaitEntry; nextLookAt: number; changed: boolean }> = [];
    const reports: Array<{ entry: WaitEntry; status: string }> = [];
    const deferred: WaitEntry[] = [];
    entries.forEach((entry, i) => {
      const check = checks[i];
      if (!check) return;
      if (check.state !== 'waiting') {
        over.push({ entry, check });
        return;
      }
      // Not looked at this round (a refusal cut it short, or its reads ran out before this
      // one): what it did learn is written, and this one is looked at once the watcher may
      // look again rather than at its usual pace. Its last status stands: nothing new is known.
      const later = deferredLook(check);
      if (later) {
        this.pausedUntil = Math.max(this.pausedUntil, now + later.retryAfterMs);
        deferred.push(entry);
        return;
      }
      const changed = check.status !== entry.lastStatus;
      if (changed) {
        entry.lastStatus = check.status;
        reports.push({ entry, status: check.status });
      }
      still.push({ entry, nextLookAt: now + nextLookDelay(now - entry.wait.since, this.opts), changed });
    });
    for (const entry of deferred) still.push({ entry, nextLookAt: Math.max(now + this.opts.minIntervalMs, this.pausedUntil), changed: false });
    const written = await this.registry.record(this.account, over, still);
    await Promise.all([
      ...over.filter(({ entry }) => written.has(entry.operationId)).map(({ entry }) => this.wake(entry.operationId)),
      ...reports.map(({ entry, status }) =>
        this.ctx.store
          .recordProgress(entry.operationId, 'wait', `waiting for ${entry.wait.label}: ${status}`, {
            waiting_for: entry.wait.label,
            waiting_since: new Date(entry.wait.since).toISOString(),
            provider_status: status,
          })
          .catch(() => false),
      ),
    ]);
    if (over.length > 0 || deferred.length > 0) {
      this.ctx.logger.debug('watcher round', { provider: this.provider.name, waits: entries.length, over: over.length, deferred: deferred.length, ms: Date.now() - started });
    }
  }

  /**
   * Moves the job from the delayed set to the waiting list. A job still active (its run has
   * not finished parking) cannot be promoted; that run looks for the outcome after parking.
   */
  private async wake(operationId: string): Promise<void> {
    // A job not delayed is running already, or about to check for the outcome itself.
    await wakeJob(this.queue, operationId);
  }
}
