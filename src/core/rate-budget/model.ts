/**
 * How each provider counts requests (PROVIDERS.md §1.8, §2.8, §3.8, §4.8), and how much of a
 * limit each request priority may use. Pure functions; the Redis side is in budget.ts.
 */
import type { RequestPriority } from '../../providers/request-budget.js';
import type { ProviderName } from '../../common/provider.js';
import type { RateLimitWindow } from '../config.js';
import { retryAfterMs, type ResponseHeaders } from '../../common/retry-after.js';

export type BudgetModel =
  /** Every request counts in each window for exactly one window length from when it was made. */
  | { kind: 'windows'; windows: RateLimitWindow[] }
  /** `capacity` tokens refilling continuously; a request takes one. */
  | { kind: 'bucket'; capacity: number; refillPerSecond: number }
  /** No self-limiting; a 429 still pauses the account everywhere. */
  | { kind: 'none' };

/**
 * DigitalOcean counts sliding windows per token, Vultr a sliding second per client, UpCloud
 * publishes nothing (a window is the safe guess); Hetzner refills a bucket, whose one
 * configured window reads as "capacity per refill period" (3600/1h = +1 per second).
 */
export function budgetModel(provider: ProviderName, windows: RateLimitWindow[] | null): BudgetModel {
  if (windows === null || windows.length === 0) return { kind: 'none' };
  if (provider === 'hetzner') {
    const { limit, windowMs } = windows[0]!;
    return { kind: 'bucket', capacity: limit, refillPerSecond: (limit * 1000) / windowMs };
  }
  return { kind: 'windows', windows };
}

/**
 * Share of a limit kept back from each priority: reads and polls leave ~5% for creates,
 * deletes and actions, so when the budget runs low the work that changes something still
 * gets through.
 */
const RESERVE_FRACTION: Record<RequestPriority, number> = { mutation: 0, read: 0.05, poll: 0.05 };

/**
 * Once less than this share of a window is left, polls are spread over the rest of it (one
 * per window ÷ requests left) instead of spending it at once: a burst of creates leaves the
 * watcher a trickle of looks, not a minute of silence, and never the creates' reserve.
 */
const PACE_FRACTION: Record<RequestPriority, number> = { mutation: 0, read: 0, poll: 0.15 };

/**
 * Requests kept back from `priority` out of `limit`; never the whole limit, so every priority
 * can run on an idle account. A bucket refills evenly, so its polls are not paced but simply
 * stop at the pacing share: a look comes as soon as a few tokens have refilled.
 */
export function reserveFor(priority: RequestPriority, limit: number, model: 'windows' | 'bucket' = 'windows'): number {
  const share = model === 'bucket' ? Math.max(RESERVE_FRACTION[priority], PACE_FRACTION[priority]) : RESERVE_FRACTION[priority];
  return Math.min(Math.ceil(limit * share), Math.max(0, limit - 1));
}

/**
 * Share of each window (and of a bucket's refill) that polls get however hard mutations press
 * for the rest. Every started operation needs polls to finish: the watcher's looks are what
 * end its wait. Polls starved by a backlog of creates, deletes and actions therefore leave
 * every started operation open while new ones keep starting, so the open set only grows (the
 * long chaos run: 8 minutes without one completed watcher round, 200 operations stuck). The
 * same share as the watcher spends by its own spacing (WATCHER_SHARE), so a watcher that keeps
 * to its pace is never held back by mutations.
 */
const POLL_FLOOR_FRACTION = 0.25;

/**
 * Polls guaranteed per window of `limit` requests (per bucketful of `limit` tokens): at least
 * one, never more than the limit itself. Earned evenly (this many per counted window, banked
 * up to this many) and spent by polls the normal rules would refuse; see scripts.ts.
 */
export function pollFloor(limit: number): number {
  return Math.max(1, Math.min(limit, Math.ceil(limit * POLL_FLOOR_FRACTION)));
}

/** The count in a window from which `priority` is paced, or -1 when it never is. */
export function paceFrom(priority: RequestPriority, limit: number): number {
  const share = PACE_FRACTION[priority];
  return share > 0 ? Math.max(0, limit - Math.ceil(limit * share)) : -1;
}

/**
 * How long one request counts in our window: the window plus a margin, because we stamp a
 * request when it leaves and the provider when it arrives. Counting it a little longer than
 * the provider does keeps our window a superset of theirs despite network delay.
 */
export function countedSpanMs(windowMs: number): number {
  return windowMs + Math.min(1000, Math.ceil(windowMs * 0.2));
}

/** Pause after a 429 that says nothing about when to come back. */
export function defaultPauseMs(model: BudgetModel): number {
  if (model.kind === 'bucket') return Math.ceil(1000 / model.refillPerSecond);
  // The shortest window, within 1–5 s: Vultr's second is over after one, DigitalOcean's minute is not worth waiting out blind.
  if (model.kind === 'windows') return Math.min(5000, Math.max(1000, Math.min(...model.windows.map((w) => w.windowMs))));
  return 5000;
}

/** No single pause lasts longer than this, whatever a header says (a bogus reset must not stop an account for a day). */
export function longestPauseMs(model: BudgetModel): number {
  if (model.kind === 'windows') return Math.max(...model.windows.map((w) => countedSpanMs(w.windowMs)));
  // Without a model there is no window to wait out: a minute at most, then ask again.
  if (model.kind === 'none') return 60_000;
  return 3_600_000;
}

/**
 * How long a 429 asks every process to stay away, in ms: Retry-After when sent; for a bucket
 * one token's refill (Hetzner's reset is when the bucket is *full*, far too late); for windows
 * the reset (DigitalOcean's is when the oldest counted request expires); else (a budget set
 * `off`) a default, at most a minute.
 * Absolute header times become durations with this process's clock.
 */
export function pauseAfter429(model: BudgetModel, headers: ResponseHeaders, now = Date.now()): number {
  let ms = retryAfterMs(headers, now);
  // A reset is read only against windows: for a bucket (Hetzner) it is when the bucket is
  // full, and with no model configured we cannot tell which of the two a provider means.
  if (ms === undefined && model.kind === 'windows') {
    const reset = headers.get('ratelimit-reset');
    if (reset !== null && reset.trim() !== '' && Number.isFinite(Number(reset))) ms = Number(reset) * 1000 - now;
  }
  if (ms === undefined || ms <= 0) ms = defaultPauseMs(model);
  return Math.min(Math.ceil(ms), longestPauseMs(model));
}

/** A whole, non-negative header number, or undefined. */
export function headerCount(headers: ResponseHeaders, name: string): number | undefined {
  const value = headers.get(name);
  if (value === null || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}

/**
 * The share of an account's sustained rate its watcher may spend looking at waiting servers:
 * what the budget guarantees polls (POLL_FLOOR_FRACTION), so its looks are never refused for
 * lack of room while it keeps to this pace.
 */
const WATCHER_SHARE = POLL_FLOOR_FRACTION;

/**
 * How far apart the watcher's requests must be on average so that looking at waiting
 * servers costs at most WATCHER_SHARE of the account's tightest limit (0 when unlimited):
 * a round that lists five pages waits five times as long before the next.
 */
export function watcherSpacingMs(windows: RateLimitWindow[] | null): number {
  if (windows === null || windows.length === 0) return 0;
  return Math.max(...windows.map((w) => w.windowMs / w.limit)) / WATCHER_SHARE;
}
