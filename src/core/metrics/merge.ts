/**
 * One scrape from many processes. The API answers `GET /metrics` with:
 *
 * - its own process-local series as they are (default `process_*`/`nodejs_*` metrics, the
 *   seed's `droplet_*`, the HTTP histogram) and the engine gauges it reads from Redis at scrape
 *   time (queues, budgets, heartbeats): these are not summed with anything;
 * - the engine's per-process series (process-series.ts) of this API process, read live, and of
 *   every other process whose push (process-store.ts, push.ts) is live: each worker and each
 *   other API replica. They are merged with prom-client's `AggregatorRegistry.aggregate()`:
 *   counters and histograms (buckets, sum, count) are summed per label set across processes.
 *   Those series hold no gauges, so no gauge is ever summed. Every API replica answers the
 *   same sums (but for its own latest counts), so a scraper reads one replica, not all.
 *
 * How fresh: another process's values are as old as its last push (METRICS_PUSH_MS, 5 s by
 * default). A process pushes once more on a clean stop; its key then lapses after three
 * intervals, as does a killed process's last push. From then on its counts are no longer in
 * the sums, so a summed counter can go down: Prometheus reads that as a counter reset, and a
 * rate() or increase() across that moment overstates (it counts the whole remaining sum as
 * new). A scrape that cannot read the pushes answers 503 instead of a partial sum, which would
 * look the same.
 */
import { AggregatorRegistry, Registry, type PrometheusContentType } from 'prom-client';
import type { ProcessMetricsJson } from './process-store.js';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary']);
const AGGREGATORS = new Set(['sum', 'first', 'min', 'max', 'average', 'omit']);

interface MetricJson {
  name: string;
  type: string;
  aggregator: string;
  help: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

/** A pushed metric the merge can use: well formed, and of the same type as ours when we have it. */
function usable(m: unknown, ours: Map<string, string>, local: Set<string>): m is MetricJson {
  const metric = m as MetricJson;
  if (!metric || typeof metric.name !== 'string' || !NAME.test(metric.name) || local.has(metric.name)) return false;
  if (!TYPES.has(metric.type) || !AGGREGATORS.has(metric.aggregator) || typeof metric.help !== 'string' || !Array.isArray(metric.values)) return false;
  if (ours.has(metric.name) && ours.get(metric.name) !== metric.type) return false;
  return metric.values.every((v) => v && typeof v.value === 'number' && v.labels !== null && typeof v.labels === 'object');
}

/** The exposition text: `local` as it is, and `own` summed with every pushed process's metrics. */
export async function mergedText(local: Registry, own: Registry, pushed: ProcessMetricsJson[]): Promise<string> {
  const ownJson = await own.getMetricsAsJSON();
  const ours = new Map(ownJson.map((m) => [m.name, String(m.type)]));
  const localNames = new Set(local.getMetricsAsArray().map((m) => m.name));
  const others = pushed.map((metrics) => metrics.filter((m) => usable(m, ours, localNames)));
  const summed = AggregatorRegistry.aggregate<PrometheusContentType>([ownJson, ...others]);
  const text = await Registry.merge([local, summed]).metrics();
  // prom-client writes a NaN (an event-loop mean with no sample since the last scrape) as `Nan`;
  // the exposition format spells it `NaN`, and strict parsers refuse anything else.
  return text.replace(/ Nan$/gm, ' NaN');
}
