/**
 * What every adapter's metrics read shares: which normalized series exist, how a provider's
 * gaps are said, and the request options that put a reading on the account's budget as a poll.
 */
import { METRIC_NAMES, type MetricName, type MetricSeries, type ServerMetrics } from '../common/provider.js';
import type { RequestOptions } from './http-client.js';
import type { CallContext } from '../common/provider.js';

/** Readings give way to creates, deletes and actions when the account's budget runs low, as watcher polls do. */
export function metricsRequest(ctx: CallContext, query: RequestOptions['query']): RequestOptions {
  return { signal: ctx.signal, query, priority: 'poll' };
}

/** Every normalized series this read does not give, each with the same reason. */
export function unavailableBesides(given: readonly MetricName[], reason: (metric: MetricName) => string): ServerMetrics['unavailable'] {
  return METRIC_NAMES.filter((m) => !given.includes(m)).map((metric) => ({ metric, reason: reason(metric) }));
}

/** A finite number from a provider's value (often a string), or null for anything else. */
export function reading(value: unknown): number | null {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

/** [Unix seconds, value] pairs as points, dropping values that are not numbers. */
export function pointsOf(values: unknown, scale = 1): MetricSeries['points'] {
  if (!Array.isArray(values)) return [];
  const points: MetricSeries['points'] = [];
  for (const pair of values) {
    if (!Array.isArray(pair)) continue;
    const at = reading(pair[0]);
    const value = reading(pair[1]);
    if (at === null || value === null) continue;
    points.push([new Date(at * 1000).toISOString(), Math.round(value * scale * 1000) / 1000]);
  }
  return points;
}
