/**
 * Sliding-window request limiter: every request counts for one window from the moment it
 * was made (per-request timers, not fixed buckets), with a second, shorter burst window.
 * This is DigitalOcean's documented model (5000/hour + 250/minute per token); providers
 * with other models (Hetzner's token bucket) get their own helper beside this one.
 *
 * Time comes from the injected clock so tests can walk a window forward.
 */
import type { Clock } from './clock.js';

export interface SlidingWindowLimits {
  /** Requests allowed in any rolling hour. */
  perHour: number;
  /** Requests allowed in any rolling minute. */
  perMinute: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** The hourly limit, as reported to clients. */
  limit: number;
  remaining: number;
  /** Epoch seconds when the oldest counted request stops counting. */
  resetEpochSec: number;
  /** Present only when the burst window is what refused the request. */
  retryAfterSec?: number;
}

const HOUR_MS = 60 * 60 * 1000;
const MINUTE_MS = 60 * 1000;

export class SlidingWindowRateLimiter {
  /** Per key, ascending timestamps of the requests still inside the hourly window. */
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    private limits: SlidingWindowLimits,
  ) {}

  setLimits(limits: SlidingWindowLimits): void {
    this.limits = { ...limits };
  }

  getLimits(): SlidingWindowLimits {
    return { ...this.limits };
  }

  reset(): void {
    this.hits.clear();
  }

  /** Counts one request for `key` unless a window is full; refused requests are not counted. */
  hit(key: string): RateLimitDecision {
    const now = this.clock.now();
    const stamps = this.pruned(key, now);
    const { perHour, perMinute } = this.limits;

    const minuteStart = firstIndexAfter(stamps, now - MINUTE_MS);
    const inLastMinute = stamps.length - minuteStart;

    if (stamps.length >= perHour) {
      return this.refused(stamps, now);
    }
    if (inLastMinute >= perMinute) {
      const oldestInMinute = stamps[minuteStart] ?? now;
      const retryAfterSec = Math.max(1, Math.ceil((oldestInMinute + MINUTE_MS - now) / 1000));
      return { ...this.refused(stamps, now), retryAfterSec };
    }

    stamps.push(now);
    this.hits.set(key, stamps);
    return {
      allowed: true,
      limit: perHour,
      remaining: Math.max(0, perHour - stamps.length),
      resetEpochSec: resetOf(stamps, now),
    };
  }

  private refused(stamps: number[], now: number): RateLimitDecision {
    return {
      allowed: false,
      limit: this.limits.perHour,
      remaining: Math.max(0, this.limits.perHour - stamps.length),
      resetEpochSec: resetOf(stamps, now),
    };
  }

  private pruned(key: string, now: number): number[] {
    const stamps = this.hits.get(key) ?? [];
    const keepFrom = firstIndexAfter(stamps, now - HOUR_MS);
    if (keepFrom > 0) stamps.splice(0, keepFrom);
    return stamps;
  }
}

function resetOf(stamps: number[], now: number): number {
  const oldest = stamps[0] ?? now;
  return Math.ceil((oldest + HOUR_MS) / 1000);
}

/** Index of the first timestamp strictly greater than `cutoff` (stamps ascending). */
function firstIndexAfter(stamps: number[], cutoff: number): number {
  let lo = 0;
  let hi = stamps.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((stamps[mid] as number) <= cutoff) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
