/**
 * Reading an HTTP answer's `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
 * The provider client, the request budget and a provider's own 429 rule all read it, and
 * must read it alike.
 */

/** A provider answer's headers, read by name: fetch's Headers, or the provider client's own. */
export type ResponseHeaders = Pick<Headers, 'get'>;

/**
 * How long `Retry-After` asks to wait, in ms from `now`; undefined when it is absent or
 * unreadable. A date already past gives a negative figure: each caller decides what that means.
 */
export function retryAfterMs(headers: ResponseHeaders, now: number = Date.now()): number | undefined {
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : date - now;
}
