/**
 * Hetzner Cloud's server metrics (`GET /servers/{id}/metrics?type=cpu,disk,network&start&end
 * &step`, hcloud-go `ServerClient.GetMetrics`): CPU, disk and network series measured from the
 * host, `time_series` keyed `cpu`, `disk.0.iops.read`, `network.0.bandwidth.in` and so on, each
 * `values: [[unix seconds, "value"], …]`. Hetzner measures from outside the guest, so it has no
 * memory or filesystem figures.
 */
import type { ProviderHttpClient } from '../http-client.js';
import { encodeId } from '../adapter-kit.js';
import { metricsRequest, pointsOf, reading, unavailableBesides } from '../metrics-kit.js';
import type { CallContext, MetricName, MetricSeries, MetricsRange, ServerMetrics } from '../../common/provider.js';

const SERIES: Array<{ key: string; name: MetricName; unit: MetricSeries['unit'] }> = [
  { key: 'cpu', name: 'cpu_percent', unit: 'percent' },
  { key: 'disk.0.iops.read', name: 'disk_read_iops', unit: 'iops' },
  { key: 'disk.0.iops.write', name: 'disk_write_iops', unit: 'iops' },
  { key: 'disk.0.bandwidth.read', name: 'disk_read_bytes_per_second', unit: 'bytes/s' },
  { key: 'disk.0.bandwidth.write', name: 'disk_write_bytes_per_second', unit: 'bytes/s' },
  { key: 'network.0.pps.in', name: 'network_in_packets_per_second', unit: 'packets/s' },
  { key: 'network.0.pps.out', name: 'network_out_packets_per_second', unit: 'packets/s' },
  { key: 'network.0.bandwidth.in', name: 'network_in_bytes_per_second', unit: 'bytes/s' },
  { key: 'network.0.bandwidth.out', name: 'network_out_bytes_per_second', unit: 'bytes/s' },
];

interface HcMetrics {
  metrics?: { step?: unknown; time_series?: Record<string, { values?: unknown }> };
}

export async function readHetznerMetrics(http: ProviderHttpClient, providerId: string, range: MetricsRange, ctx: CallContext): Promise<ServerMetrics> {
  const query = {
    type: 'cpu,disk,network',
    start: range.start.toISOString(),
    end: range.end.toISOString(),
    step: range.stepSeconds,
  };
  const res = await http.request<HcMetrics>('GET', `servers/${encodeId(providerId)}/metrics`, metricsRequest(ctx, query));
  const timeSeries = res.body?.metrics?.time_series ?? {};
  return {
    series: SERIES.map((s) => ({ name: s.name, unit: s.unit, points: pointsOf(timeSeries[s.key]?.values) })),
    step_seconds: reading(res.body?.metrics?.step),
    unavailable: unavailableBesides(SERIES.map((s) => s.name), (m) =>
      m.startsWith('network_') && m.endsWith('_per_day')
        ? 'Hetzner gives network throughput per step, not daily totals'
        : 'Hetzner measures servers from the host: its metrics API has no memory or filesystem series',
    ),
    source: 'GET /servers/{id}/metrics?type=cpu,disk,network',
  };
}
