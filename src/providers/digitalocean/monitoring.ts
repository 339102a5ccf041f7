/**
 * DigitalOcean's droplet monitoring (`GET /v2/monitoring/metrics/droplet/{metric}?host_id
 * &start&end`, godo `MonitoringService.GetDropletCPU`, `GetDropletAvailableMemory`, …): Prometheus
 * range results, `data.result[].values: [[unix seconds, "value"], …]`. The figures come from the
 * metrics agent in the droplet (created with `monitoring: true`); a droplet without it answers
 * empty series. The service chooses the resolution: there is no step to ask for.
 *
 * Read: `cpu` (per-mode CPU seconds counters, turned into a percentage between samples),
 * `memory_total` and `memory_available` (used = total − available), `filesystem_size` and
 * `filesystem_free` (summed over the droplet's filesystems), `bandwidth` on the public interface
 * both ways (Mbps, turned into bytes/s). Seven requests per reading.
 */
import type { ProviderHttpClient } from '../http-client.js';
import { metricsRequest, pointsOf, unavailableBesides } from '../metrics-kit.js';
import type { CallContext, MetricName, MetricSeries, MetricsRange, ServerMetrics } from '../../common/provider.js';

interface PromResult {
  metric?: Record<string, string>;
  values?: unknown;
}

interface PromAnswer {
  data?: { result?: PromResult[] };
}

type Points = MetricSeries['points'];

const GIVEN: MetricName[] = [
  'cpu_percent',
  'memory_used_bytes',
  'memory_total_bytes',
  'filesystem_used_bytes',
  'filesystem_size_bytes',
  'network_in_bytes_per_second',
  'network_out_bytes_per_second',
];

/** Adds series point by point at the same instants (several filesystems into one figure). */
function sumByTime(series: Points[]): Points {
  const byTime = new Map<string, number>();
  for (const points of series) for (const [at, v] of points) byTime.set(at, (byTime.get(at) ?? 0) + v);
  return [...byTime.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/** a − b at the instants both have. */
function difference(a: Points, b: Points): Points {
  const other = new Map(b);
  return a.filter(([at]) => other.has(at)).map(([at, v]) => [at, Math.round((v - other.get(at)!) * 1000) / 1000]);
}

/** Busy share of CPU time between consecutive samples of the per-mode counters, as a percentage. */
function cpuPercent(results: PromResult[]): Points {
  const total = sumByTime(results.map((r) => pointsOf(r.values)));
  const idle = sumByTime(results.filter((r) => r.metric?.mode === 'idle').map((r) => pointsOf(r.values)));
  const idleAt = new Map(idle);
  const points: Points = [];
  for (let i = 1; i < total.length; i++) {
    const [at, t] = total[i]!;
    const [prevAt, prevT] = total[i - 1]!;
    const dTotal = t - prevT;
    const dIdle = (idleAt.get(at) ?? NaN) - (idleAt.get(prevAt) ?? NaN);
    // A counter reset (a reboot) or a gap reads nothing rather than a wild figure.
    if (!(dTotal > 0) || !Number.isFinite(dIdle) || dIdle < 0) continue;
    points.push([at, Math.round(Math.min(100, Math.max(0, (100 * (dTotal - dIdle)) / dTotal)) * 1000) / 1000]);
  }
  return points;
}

function stepOf(points: Points): number | null {
  if (points.length < 2) return null;
  const step = (Date.parse(points[1]![0]) - Date.parse(points[0]![0])) / 1000;
  return step > 0 ? step : null;
}

export async function readDigitalOceanMetrics(http: ProviderHttpClient, providerId: string, range: MetricsRange, ctx: CallContext): Promise<ServerMetrics> {
  const base = { host_id: providerId, start: String(Math.floor(range.start.getTime() / 1000)), end: String(Math.floor(range.end.getTime() / 1000)) };
  const read = async (metric: string, extra: Record<string, string> = {}): Promise<PromResult[]> => {
    const res = await http.request<PromAnswer>('GET', `monitoring/metrics/droplet/${metric}`, metricsRequest(ctx, { ...base, ...extra }));
    const result = res.body?.data?.result;
    return Array.isArray(result) ? result : [];
  };
  const [cpu, memTotal, memAvailable, fsSize, fsFree, inbound, outbound] = await Promise.all([
    read('cpu'),
    read('memory_total'),
    read('memory_available'),
    read('filesystem_size'),
    read('filesystem_free'),
    read('bandwidth', { interface: 'public', direction: 'inbound' }),
    read('bandwidth', { interface: 'public', direction: 'outbound' }),
  ]);
  const summed = (results: PromResult[], scale = 1) => sumByTime(results.map((r) => pointsOf(r.values, scale)));
  const total = summed(memTotal);
  const size = summed(fsSize);
  // Mbps (10^6 bits) to bytes per second.
  const mbps = 1_000_000 / 8;
  const series: MetricSeries[] = [
    { name: 'cpu_percent', unit: 'percent', points: cpuPercent(cpu) },
    { name: 'memory_used_bytes', unit: 'bytes', points: difference(total, summed(memAvailable)) },
    { name: 'memory_total_bytes', unit: 'bytes', points: total },
    { name: 'filesystem_used_bytes', unit: 'bytes', points: difference(size, summed(fsFree)) },
    { name: 'filesystem_size_bytes', unit: 'bytes', points: size },
    { name: 'network_in_bytes_per_second', unit: 'bytes/s', points: summed(inbound, mbps) },
    { name: 'network_out_bytes_per_second', unit: 'bytes/s', points: summed(outbound, mbps) },
  ];
  const notes: string[] = [];
  if (series.every((s) => s.points.length === 0)) notes.push('no series: the droplet has no metrics agent (created without monitoring), or nothing was recorded in the range');
  if (range.stepSeconds !== undefined) notes.push('DigitalOcean chooses the resolution itself; the requested step was not sent');
  return {
    series,
    step_seconds: stepOf(total) ?? stepOf(series[0]!.points),
    unavailable: unavailableBesides(GIVEN, (m) =>
      m.startsWith('disk_')
        ? "DigitalOcean's droplet monitoring endpoints read here give no disk I/O series"
        : m.includes('packets')
          ? 'DigitalOcean gives bandwidth, not packet rates'
          : 'DigitalOcean gives bandwidth as a rate, not daily totals',
    ),
    source: 'GET /v2/monitoring/metrics/droplet/{cpu,memory_total,memory_available,filesystem_size,filesystem_free,bandwidth}?host_id&start&end',
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}


