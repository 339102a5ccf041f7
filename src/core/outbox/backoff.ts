/** No single wait is longer than this, whatever the attempt count or a target's Retry-After. */
export const MAX_DELAY_MS = 3_600_000;

/**
 * The wait before retry number `attemptsMade` (1 after the first failure): the base doubled each
 * time, jittered down by up to half so deliveries that failed together (a receiver that was down)
 * do not all come back at the same instant. With the defaults (2 s, 12 attempts) the retries
 * span about an hour. A target's Retry-After is honoured when it asks for longer.
 */
export function retryDelayMs(attemptsMade: number, baseMs: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const exponential = Math.min(MAX_DELAY_MS, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  const jittered = Math.round(exponential * (0.5 + random() * 0.5));
  return Math.min(MAX_DELAY_MS, Math.max(jittered, retryAfterMs ?? 0));
}

/** Retry-After as seconds or as an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  if (/^\d{1,10}$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
