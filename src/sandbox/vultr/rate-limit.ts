/**
 * Vultr's burst protection (PROVIDERS.md §3.8): more than N requests in any rolling second
 * from one source IP earn a 429. Unlike DigitalOcean's hourly budget there is no longer
 * window and nothing is reported in headers, so this is a plain sliding one-second window.
 *
 * Time comes from the injected clock so tests can step past a window.
 */
import type { Clock } from '../clock.js';

export interface VultrRateLimit {
  /** Requests allowed from one client IP in any rolling second. */
  perSecond: number;
}

const WINDOW_MS = 1000;

export class PerSecondRateLimiter {
  /** Per key, ascending timestamps of the requests still inside the window. */
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    private limit: VultrRateLimit,
  ) {}

  setLimit(limit: VultrRateLimit): void {
    this.limit = { ...limit };
  }

  getLimit(): VultrRateLimit {
    return { ...this.limit };
  }

  reset(): void {
    this.hits.clear();
  }

  /** Counts one request for `key` and says whether it is allowed; refused requests are not counted. */
  hit(key: string): boolean {
    const now = this.clock.now();
    const stamps = (this.hits.get(key) ?? []).filter((t) => t > now - WINDOW_MS);
    if (stamps.length >= this.limit.perSecond) {
      this.hits.set(key, stamps);
      return false;
    }
    stamps.push(now);
    this.hits.set(key, stamps);
    return true;
  }
}
