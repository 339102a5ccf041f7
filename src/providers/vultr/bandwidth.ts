/**
 * Vultr's only usage figures for an instance: `GET /v2/instances/{id}/bandwidth` (govultr
 * `InstanceService.GetBandwidth`), bytes in and out per UTC day,
 * `{"bandwidth": {"2024-01-14": {"incoming_bytes": n, "outgoing_bytes": n}, …}}`, optionally
 * `date_range` days back (1–60). The days that overlap the asked range are answered, each as a
 * point at the start of its day; Vultr's API has no CPU, memory, disk or finer network series.
 */
import type { ProviderHttpClient } from '../http-client.js';
import { encodeId } from '../adapter-kit.js';
import { metricsRequest, reading, unavailableBesides } from '../metrics-kit.js';
import type { CallContext, MetricSeries, MetricsRange, ServerMetrics } from '../../common/provider.js';

const DAY_MS = 86_400_000;
const MAX_DAYS = 60;

export async function readVultrBandwidth(http: ProviderHttpClient, providerId: string, range: MetricsRange, ctx: CallContext, now = Date.now()): Promise<ServerMetrics> {
  // Days back from today that reach the range's first day, within what the API allows.
  const days = Math.min(MAX_DAYS, Math.max(1, Math.ceil((now - Math.floor(range.start.getTime() / DAY_MS) * DAY_MS) / DAY_MS)));
  const res = await http.request<{ bandwidth?: Record<string, { incoming_bytes?: unknown; outgoing_bytes?: unknown }> }>(
    'GET',
    `instances/${encodeId(providerId)}/bandwidth`,
    metricsRequest(ctx, { date_range: days }),
  );
  const incoming: MetricSeries['points'] = [];
  const outgoing: MetricSeries['points'] = [];
  const firstDay = Math.floor(range.start.getTime() / DAY_MS) * DAY_MS;
  for (const [date, usage] of Object.entries(res.body?.bandwidth ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    const day = Date.parse(`${date}T00:00:00Z`);
    if (Number.isNaN(day) || day < firstDay || day > range.end.getTime()) continue;
    const at = new Date(day).toISOString();
    const i = reading(usage?.incoming_bytes);
    const o = reading(usage?.outgoing_bytes);
    if (i !== null) incoming.push([at, i]);
    if (o !== null) outgoing.push([at, o]);
  }
  return {
    series: [
      { name: 'network_in_bytes_per_day', unit: 'bytes/day', points: incoming },
      { name: 'network_out_bytes_per_day', unit: 'bytes/day', points: outgoing },
    ],
    step_seconds: 86_400,
    unavailable: unavailableBesides(['network_in_bytes_per_day', 'network_out_bytes_per_day'], () => "Vultr's API gives an instance's bandwidth per day only: no CPU, memory, disk or finer network series"),
    source: 'GET /v2/instances/{id}/bandwidth?date_range',
    ...(range.stepSeconds !== undefined ? { note: 'Vultr answers whole days; the requested step does not apply' } : {}),
  };
}
