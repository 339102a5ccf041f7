/**
 * `GET /v1/servers/{id}/metrics`: a server's usage over a time range, read from its provider's
 * own monitoring API while the client waits (a read that changes nothing, like the console).
 * The provider answers in its own series and units; the adapter maps them onto the normalized
 * names (common/provider.ts METRIC_NAMES) and says what its provider does not offer.
 *
 * What each provider offers: Hetzner CPU, disk and network from the host; DigitalOcean CPU,
 * memory, filesystem and public bandwidth from its agent in the droplet; Vultr bytes per day
 * only; UpCloud nothing (a 501 that says so).
 */
import type { MetricsRange, Provider, ProviderName, ServerMetrics } from '../../common/provider.js';
import type { Access } from '../auth/access.js';
import { PROVIDER_SETTING } from '../config.js';
import type { CoreContext } from '../context.js';
import { EngineError, ErrorCodes, isAbort, ProviderError, ProviderNotConfiguredError, ValidationError } from '../../common/errors.js';
import { getServer } from './requests.js';
import type { ServerRecord } from './inventory.js';

/** How long a read waits for the provider. */
const METRICS_TIMEOUT_MS = 20_000;
const HOUR_MS = 3_600_000;
/** The longest range one read may span (Vultr keeps 60 days of daily figures; the others less at fine steps). */
export const MAX_RANGE_MS = 31 * 24 * HOUR_MS;
/** Clocks differ a little: an end this far ahead of ours still counts as now. */
const FUTURE_SLACK_MS = 60_000;

const WHY_NONE: Partial<Record<ProviderName, string>> = {
  upcloud: "UpCloud's API (1.3) offers no usage metrics for servers (only for managed databases and load balancers)",
};

export interface MetricsQuery {
  start?: string;
  end?: string;
  step?: number;
}

/** The range a query asks for: `end` defaults to now, `start` to an hour before `end`. Bad ones are a 400 naming the field. */
export function metricsRange(query: MetricsQuery, now = Date.now()): MetricsRange {
  const problems: Array<{ field: string; problem: string }> = [];
  const parse = (field: 'start' | 'end', raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    const ms = Date.parse(raw);
    if (Number.isNaN(ms)) problems.push({ field: `query.${field}`, problem: 'must be an RFC 3339 date-time, e.g. 2026-11-28T10:00:00Z' });
    return ms;
  };
  const endAsked = parse('end', query.end);
  const startAsked = parse('start', query.start);
  if (problems.length > 0) throw new ValidationError(problems);
  const end = endAsked ?? now;
  const start = startAsked ?? end - HOUR_MS;
  if (end > now + FUTURE_SLACK_MS) problems.push({ field: 'query.end', problem: 'must not be in the future' });
  if (start >= end) problems.push({ field: 'query.start', problem: `must be before end (${new Date(end).toISOString()})` });
  else if (end - start > MAX_RANGE_MS) problems.push({ field: 'query.start', problem: `must be at most 31 days before end (${new Date(end).toISOString()})` });
  if (query.step !== undefined && start < end && query.step * 1000 > end - start) problems.push({ field: 'query.step', problem: 'must not be longer than the range from start to end' });
  if (problems.length > 0) throw new ValidationError(problems);
  return { start: new Date(start), end: new Date(Math.min(end, now)), ...(query.step !== undefined ? { stepSeconds: query.step } : {}) };
}

/** Whether a provider can give metrics at all, and if not, why. */
export function metricsSupport(provider: Provider | undefined, name: ProviderName): { supported: boolean; why?: string } {
  if (provider?.metrics) return { supported: true };
  return { supported: false, why: WHY_NONE[name] ?? `${name} offers no usage metrics through its API` };
}

/** One read of the server's provider monitoring, for a server already found and allowed. */
export async function providerMetrics(ctx: CoreContext, providers: Map<ProviderName, Provider>, server: ServerRecord, range: MetricsRange): Promise<ServerMetrics> {
  const provider = providers.get(server.provider);
  if (!provider) throw new ProviderNotConfiguredError(server.provider, PROVIDER_SETTING[server.provider]);
  const support = metricsSupport(provider, server.provider);
  if (!support.supported || !provider.metrics) throw new EngineError(ErrorCodes.METRICS_UNSUPPORTED, support.why!, { provider: server.provider });
  try {
    return await provider.metrics(server.provider_id, range, { signal: AbortSignal.timeout(METRICS_TIMEOUT_MS) });
  } catch (err) {
    // The read's own deadline: the provider is slow or down, which is its timeout, not ours.
    if (isAbort(err)) {
      throw new ProviderError({ provider: server.provider, code: ErrorCodes.PROVIDER_TIMEOUT, retryable: true, message: `${server.provider}: no metrics answer within ${METRICS_TIMEOUT_MS / 1000}s` });
    }
    throw err;
  }
}

export async function readServerMetrics(ctx: CoreContext, providers: Map<ProviderName, Provider>, id: string, query: MetricsQuery, access: Access) {
  // The range is checked before anything is looked up, so a bad one is a 400 whatever the server.
  const range = metricsRange(query);
  const server = await getServer(ctx, id, access, 'server_read');
  const metrics = await providerMetrics(ctx, providers, server, range);
  return {
    server_id: server.id,
    provider: server.provider,
    start: range.start.toISOString(),
    end: range.end.toISOString(),
    step_seconds: metrics.step_seconds,
    series: metrics.series.map((s) => ({ name: s.name, unit: s.unit, points: s.points.map(([at, value]) => ({ at, value })) })),
    unavailable: metrics.unavailable,
    source: metrics.source,
    ...(metrics.note ? { note: metrics.note } : {}),
  };
}
