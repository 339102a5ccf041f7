/**
 * The sandbox's notion of "now".
 *
 * Simulated resources never run timers: each one records when it will reach its next
 * state and every read compares that against `clock.now()`. Swapping in a ManualClock
 * therefore makes every state transition deterministic in tests.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
};

/** Fixed default start so timestamps in test output are stable across runs. */
const DEFAULT_MANUAL_START_MS = Date.parse('2026-01-01T00:00:00Z');

export class ManualClock implements Clock {
  private current: number;

  constructor(startMs: number = DEFAULT_MANUAL_START_MS) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`ManualClock.advance expects a non-negative number of ms, got ${ms}`);
    }
    this.current += ms;
    return this.current;
  }

  set(ms: number): number {
    if (!Number.isFinite(ms)) {
      throw new RangeError(`ManualClock.set expects a finite epoch in ms, got ${ms}`);
    }
    this.current = ms;
    return this.current;
  }
}

/** ISO-8601 without milliseconds, the way the provider APIs print timestamps. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
