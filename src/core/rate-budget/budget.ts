/**
 * One provider account's request budget, kept in Redis so every API replica and worker draws
 * on the same count: together they stay under the provider's limit instead of each process
 * assuming the whole limit is its own.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { sleep } from '../../providers/http-client.js';
import {
  RequestBudgetExhaustedError,
  type RequestBudget,
  type RequestPriority,
} from '../../providers/request-budget.js';
import type { RateLimitWindow } from '../config.js';
import { AbortedError } from '../../common/errors.js';
import { luaScript, type ScriptRunner } from '../lua.js';
import { type BudgetModel, countedSpanMs, headerCount, paceFrom, pauseAfter429, pollFloor, reserveFor } from './model.js';
import { SETTLE_BUCKET, SETTLE_WINDOWS, TAKE_FROM_BUCKET, TAKE_FROM_WINDOWS } from './scripts.js';
import type { ResponseHeaders } from '../../common/retry-after.js';

export interface RedisRequestBudgetOptions {
  provider: string;
  /** `<prefix>:budget:<accountId>`; every key of this account starts with it. */
  keyBase: string;
  model: BudgetModel;
  /**
   * Longest wait take() sits out in this process. Longer waits throw at once, so a job is
   * parked (and its worker slot freed) rather than held while the account's budget refills.
   */
  maxWaitMs?: number;
}

export const DEFAULT_MAX_IN_PROCESS_WAIT_MS = 2000;
/**
 * For this long after the budget refused a mutation, polls are paced however much of a
 * window is left: creates that are waiting for requests get them before the watcher does.
 */
const MUTATION_DEMAND_MS = 5000;
/**
 * For this long after the budget refused a poll, other requests leave the polls' floor free
 * (model.ts, POLL_FLOOR_FRACTION). Longer than a poll sits out in its process (2 s) and than
 * the watcher pauses after a refused round on a window of seconds, so the requests held back
 * are still there when it asks again; short, because once no poll asks they are held back for
 * nothing.
 */
const POLL_DEMAND_MS = 3000;

export class RedisRequestBudget implements RequestBudget {
  readonly provider: string;
  readonly model: BudgetModel;
  private readonly stateKey: string;
  private readonly keyBase: string;
  private readonly maxWaitMs: number;
  private readonly takeScript: ScriptRunner;
  private readonly settleScript: ScriptRunner;

  constructor(redis: Redis, options: RedisRequestBudgetOptions) {
    this.provider = options.provider;
    this.model = options.model;
    this.keyBase = options.keyBase;
    this.stateKey = `${options.keyBase}:state`;
    this.maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_IN_PROCESS_WAIT_MS;
    const bucket = options.model.kind === 'bucket';
    this.takeScript = bucket
      ? luaScript(redis, 'peBudgetTakeFromBucket', TAKE_FROM_BUCKET)
      : luaScript(redis, 'peBudgetTakeFromWindows', TAKE_FROM_WINDOWS);
    this.settleScript = bucket
      ? luaScript(redis, 'peBudgetSettleBucket', SETTLE_BUCKET)
      : luaScript(redis, 'peBudgetSettleWindows', SETTLE_WINDOWS);
  }

  async take(priority: RequestPriority, signal?: AbortSignal): Promise<void> {
    const giveUpAt = Date.now() + this.maxWaitMs;
    for (;;) {
      if (signal?.aborted) throw new AbortedError(signal.reason);
      const waitMs = await this.tryTake(priority);
      if (waitMs === 0) return;
      if (Date.now() + waitMs > giveUpAt) throw new RequestBudgetExhaustedError(this.provider, waitMs);
      // Processes told the same moment would otherwise all come back at once and race again.
      await sleep(waitMs + Math.floor(Math.random() * 20), signal);
    }
  }

  /** 0 when a request was granted (and counted), else ms until one could be. */
  async tryTake(priority: RequestPriority): Promise<number> {
    const model = this.model;
    let reply: unknown;
    if (model.kind === 'bucket') {
      const reserve = reserveFor(priority, model.capacity, 'bucket');
      // The floor as a share of the refill: pollFloor(capacity) credits per bucketful.
      const floor = pollFloor(model.capacity);
      reply = await this.takeScript(
        this.stateKey,
        String(model.capacity),
        String(model.refillPerSecond),
        String(reserve),
        priority === 'poll' ? 'yield' : '',
        String(floor),
        String((model.refillPerSecond * floor) / model.capacity),
        String(POLL_DEMAND_MS),
      );
    } else {
      const windows = model.kind === 'windows' ? model.windows : [];
      const args = windows.flatMap((w) => [
        this.windowKey(w),
        String(countedSpanMs(w.windowMs)),
        String(w.limit - reserveFor(priority, w.limit)),
        String(paceFrom(priority, w.limit)),
        String(w.limit),
        String(pollFloor(w.limit)),
      ]);
      const demand = priority === 'mutation' ? 'record' : priority === 'poll' ? 'yield' : '';
      reply = await this.takeScript(
        this.stateKey,
        randomUUID(),
        String(windows.length),
        ...args,
        demand,
        String(MUTATION_DEMAND_MS),
        String(POLL_DEMAND_MS),
      );
    }
    const [granted, waitMs] = reply as [number, number];
    return granted === 1 ? 0 : Math.max(1, Number(waitMs));
  }

  async settle(status: number, headers: ResponseHeaders): Promise<void> {
    const model = this.model;
    const pauseMs = status === 429 ? pauseAfter429(model, headers) : -1;
    // A 429's own remaining (0) would only repeat what the pause already says, and as
    // phantom requests it would outlast the pause by up to a whole window.
    const remaining = status === 429 ? undefined : headerCount(headers, 'ratelimit-remaining');

    if (model.kind === 'bucket') {
      // A provider count at or above a full bucket cannot lower ours: skip the round trip.
      const correct = remaining !== undefined && remaining < model.capacity;
      if (pauseMs < 0 && !correct) return;
      await this.settleScript(
        this.stateKey,
        String(model.capacity),
        String(model.refillPerSecond),
        String(pauseMs),
        String(correct ? remaining : -1),
      );
      return;
    }

    const window = model.kind === 'windows' && remaining !== undefined ? describedWindow(model.windows, headers) : undefined;
    const correct = window !== undefined && remaining !== undefined && remaining < window.limit;
    if (pauseMs < 0 && !correct) return;
    await this.settleScript(
      this.stateKey,
      String(pauseMs),
      String(correct ? remaining : -1),
      correct ? this.windowKey(window) : '',
      correct ? String(countedSpanMs(window.windowMs)) : '0',
      correct ? String(window.limit) : '0',
      `phantom:${randomUUID()}:`,
    );
  }

  /** Forgets this account's counts and pause (tests, and an operator starting over). */
  async clear(redis: Redis): Promise<void> {
    const keys = [this.stateKey];
    if (this.model.kind === 'windows') keys.push(...this.model.windows.map((w) => this.windowKey(w)));
    await redis.del(...keys);
  }

  private windowKey(window: RateLimitWindow): string {
    return `${this.keyBase}:w:${window.windowMs}`;
  }
}

/**
 * The window a provider's `ratelimit-remaining` is about: the one whose limit it reports
 * (DigitalOcean reports its hourly limit), else the longest. "At most this many more now" is
 * true of every window, so any choice is safe; the longest is the one providers report on.
 */
function describedWindow(windows: RateLimitWindow[], headers: ResponseHeaders): RateLimitWindow | undefined {
  const reportedLimit = headerCount(headers, 'ratelimit-limit');
  const named = windows.find((w) => w.limit === reportedLimit);
  if (named) return named;
  return windows.reduce<RateLimitWindow | undefined>((longest, w) => (longest && longest.windowMs >= w.windowMs ? longest : w), undefined);
}
