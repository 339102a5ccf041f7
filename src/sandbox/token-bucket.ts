/**
 * Token-bucket request limiter: each key owns a bucket of `capacity` tokens that refills
 * continuously at `refillPerSecond`; a request takes one token or is refused. This is
 * Hetzner's documented model (3600 per hour, +1 every second, bursts allowed), beside the
 * sliding window of rate-limit.ts that DigitalOcean uses.
 *
 * Time comes from the injected clock so tests can refill a bucket by moving the clock.
 */
import type { Clock } from './clock.js';

export interface TokenBucketLimits {
  /** Tokens a full bucket holds; reported to clients as the limit. */
  capacity: number;
  /** Tokens added per second, continuously. */
  refillPerSecond: number;
}

export interface TokenBucketDecision {
  allowed: boolean;
  limit: number;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Epoch seconds when the bucket will be full again. */
  resetEpochSec: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date. */
  at: number;
}

export class TokenBucketRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly clock: Clock,
    private limits: TokenBucketLimits,
  ) {}

  setLimits(limits: TokenBucketLimits): void {
    this.limits = { ...limits };
    // A smaller bucket cannot hold more than it now allows.
    for (const bucket of this.buckets.values()) bucket.tokens = Math.min(bucket.tokens, limits.capacity);
  }

  getLimits(): TokenBucketLimits {
    return { ...this.limits };
  }

  reset(): void {
    this.buckets.clear();
  }

  /** Takes one token from `key`'s bucket if there is one; refused requests take nothing. */
  hit(key: string): TokenBucketDecision {
    const now = this.clock.now();
    const { capacity, refillPerSecond } = this.limits;
    const bucket = this.buckets.get(key) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * refillPerSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);

    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    const secondsUntilFull = (capacity - bucket.tokens) / refillPerSecond;
    return {
      allowed,
      limit: capacity,
      remaining: Math.floor(bucket.tokens),
      resetEpochSec: Math.ceil((now + secondsUntilFull * 1000) / 1000),
    };
  }
}
