/**
 * DigitalOcean's droplet monitoring metrics, simulated: `GET /v2/monitoring/metrics/droplet/
 * {cpu|memory_total|memory_available|memory_free|memory_cached|filesystem_free|filesystem_size|
 * bandwidth|load_1|load_5|load_15}` with `host_id`, `start` and `end` (Unix seconds) required;
 * `bandwidth` also needs `interface` (public, private) and `direction` (inbound, outbound).
 * The answer is a Prometheus range query result:
 *
 *   {"status": "success", "data": {"resultType": "matrix",
 *     "result": [{"metric": {"host_id": "123", "mode": "idle"}, "values": [[1634052360, "5.01"], …]}]}}
 *
 * `cpu` is the agent's per-mode CPU seconds counters (summed over vCPUs), memory and filesystem
 * series are bytes, bandwidth is Mbps, load is the load average. Series exist only for a
 * droplet created with `monitoring: true` (the metrics agent), from its creation on; any other
 * host (or none the account knows) answers an empty result, as a Prometheus query does. The
 * service picks the resolution (there is no `step` parameter; how the real one picks is not
 * documented): the range over MAX_SAMPLES, at least a second.
 */
import type { Request } from 'express';
import { badRequest } from './errors.js';
import type { DropletRecord } from './store.js';
import { counterAt, sampleTimes, usageLevel } from '../usage-series.js';

export const DO_DROPLET_METRICS = ['cpu', 'memory_total', 'memory_available', 'memory_free', 'memory_cached', 'filesystem_free', 'filesystem_size', 'bandwidth', 'load_1', 'load_5', 'load_15'] as const;

const MAX_SAMPLES = 300;
const CPU_MODES = ['idle', 'user', 'system', 'iowait', 'nice', 'irq', 'softirq', 'steal'] as const;
/** Shares of the busy CPU time per mode. */
const BUSY_SHARE: Record<string, number> = { user: 0.68, system: 0.22, iowait: 0.05, nice: 0.01, irq: 0.01, softirq: 0.02, steal: 0.01 };
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

interface Series {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

function param(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

function unixParam(req: Request, name: string): number {
  const raw = param(req, name);
  if (raw === undefined || raw === '') throw badRequest(`${name} is required`);
  if (!/^\d{1,12}(\.\d+)?$/.test(raw)) throw badRequest(`${name} must be a Unix timestamp in seconds`);
  return Number(raw);
}

/** The answer for one metric; `droplet` is the host_id's droplet, or undefined when the account has none by that id. */
export function dropletMetric(req: Request, metric: string, droplet: (id: number) => DropletRecord | undefined, nowMs: number): unknown {
  if (!(DO_DROPLET_METRICS as readonly string[]).includes(metric)) throw badRequest(`unknown metric '${metric}'`);
  const hostId = param(req, 'host_id');
  if (hostId === undefined || hostId === '') throw badRequest('host_id is required');
  const start = unixParam(req, 'start');
  const end = unixParam(req, 'end');
  if (end < start) throw badRequest('end must not be before start');
  let iface: string | undefined;
  let direction: string | undefined;
  if (metric === 'bandwidth') {
    iface = param(req, 'interface');
    direction = param(req, 'direction');
    if (iface !== 'public' && iface !== 'private') throw badRequest('interface must be public or private');
    if (direction !== 'inbound' && direction !== 'outbound') throw badRequest('direction must be inbound or outbound');
  }
  const found = /^\d{1,15}$/.test(hostId) ? droplet(Number(hostId)) : undefined;
  const empty = { status: 'success', data: { resultType: 'matrix', result: [] as Series[] } };
  if (!found || !found.monitoring) return empty;
  const step = Math.max(1, Math.ceil((end - start) / MAX_SAMPLES));
  const bootSec = found.createdAt / 1000;
  const times = sampleTimes(Math.max(start, bootSec), Math.min(end, nowMs / 1000), step);
  if (times.length === 0) return empty;
  const key = `digitalocean:${found.id}`;
  const labels = { host_id: String(found.id) };
  const series = (metricLabels: Record<string, string>, value: (t: number) => number): Series => ({
    metric: { ...labels, ...metricLabels },
    values: times.map((t) => [t, String(Math.round(value(t) * 1000) / 1000)]),
  });
  const vcpus = found.size.vcpus;
  const memoryTotal = found.size.memory * MIB;
  const available = (t: number) => memoryTotal * (1 - usageLevel(key, 'memory', t, 0.45, 0.15));
  const fsSize = found.diskGb * GIB;
  const fsLabels = { device: '/dev/vda1', fstype: 'ext4', mountpoint: '/' };
  let result: Series[];
  switch (metric) {
    case 'cpu': {
      const busy = (t: number) => counterAt(key, 'cpu', t, vcpus, bootSec);
      result = CPU_MODES.map((mode) =>
        series({ mode }, (t) => (mode === 'idle' ? vcpus * (t - bootSec) - busy(t) : busy(t) * (BUSY_SHARE[mode] ?? 0))),
      );
      break;
    }
    case 'memory_total':
      result = [series({}, () => memoryTotal)];
      break;
    case 'memory_available':
      result = [series({}, available)];
      break;
    case 'memory_free':
      result = [series({}, (t) => available(t) * 0.6)];
      break;
    case 'memory_cached':
      result = [series({}, (t) => available(t) * 0.3)];
      break;
    case 'filesystem_size':
      result = [series(fsLabels, () => fsSize)];
      break;
    case 'filesystem_free':
      result = [series(fsLabels, (t) => fsSize * (1 - usageLevel(key, 'filesystem', t, 0.25, 0.02)))];
      break;
    case 'bandwidth': {
      const peakMbps = iface === 'public' ? 200 : 50;
      result = [series({ interface: iface!, direction: direction! }, (t) => peakMbps * usageLevel(key, `bandwidth.${iface}.${direction}`, t, 0.2, 0.15))];
      break;
    }
    default: {
      // load_1, load_5, load_15: smoother the longer the window.
      const minutes = Number(metric.slice('load_'.length));
      result = [series({}, (t) => vcpus * 1.2 * usageLevel(key, 'cpu', t - (minutes * 60) / 2, 0.3, 0.2))];
    }
  }
  return { status: 'success', data: { resultType: 'matrix', result } };
}
