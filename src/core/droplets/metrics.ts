import type { MetricName, Provider, ProviderName, ServerMetrics } from '../../common/provider.js';
import type { Catalog } from '../catalog.js';
import type { CoreContext } from '../context.js';
import type { ServerRecord } from '../servers/inventory.js';
import { providerMetrics } from '../servers/metrics.js';

/**
 * `GET /api/v1/droplets/{id}/metrics`. What is answered is only what the engine really knows:
 * - `memory_total_bytes` (and `vcpus`, `disk_total_bytes`): the droplet's plan in the cached
 *   provider catalogue, i.e. what the plan provides, not a reading from the machine;
 * - `cpu_usage_percent`, `memory_usage_bytes`, `disk_read_bytes`, `disk_write_bytes`: readings
 *   from the provider's monitoring API through `MetricsReader` (DigitalOcean gives CPU and
 *   memory, Hetzner CPU and disk), else null, "not measured". Nothing is made up: a client sees
 *   null rather than a number that looks real.
 * `sources` says for every field where it came from, so a client can tell.
 */
export interface DropletMetrics {
  cpu_usage_percent: number | null;
  memory_usage_bytes: number | null;
  memory_total_bytes: number | null;
  disk_read_bytes: number | null;
  disk_write_bytes: number | null;
  vcpus: number | null;
  disk_total_bytes: number | null;
  /** Per field: `plan` (the provider's catalogue), `provider` (a monitoring reading) or `unavailable` (null). */
  sources: Record<string, 'plan' | 'provider' | 'unavailable'>;
  collected_at: string;
}

/** Usage readings from a provider's monitoring, where its adapter reads one (servers/metrics.ts). */
export interface MetricsReader {
  read(server: ServerRecord): Promise<Partial<Pick<DropletMetrics, 'cpu_usage_percent' | 'memory_usage_bytes' | 'disk_read_bytes' | 'disk_write_bytes'>> | null>;
}

/** The window a reading looks back over: recent enough to be "now", long enough to hold samples. */
const READING_WINDOW_MS = 5 * 60_000;

function latest(metrics: ServerMetrics, name: MetricName): number | undefined {
  const points = metrics.series.find((s) => s.name === name)?.points ?? [];
  return points[points.length - 1]?.[1];
}

/** Bytes a rate series adds up to over the window: each point's rate times the time it stands for. */
function total(metrics: ServerMetrics, name: MetricName): number | undefined {
  const points = metrics.series.find((s) => s.name === name)?.points ?? [];
  if (points.length === 0) return undefined;
  let bytes = 0;
  for (let i = 0; i < points.length; i++) {
    const seconds = metrics.step_seconds ?? (i > 0 ? (Date.parse(points[i]![0]) - Date.parse(points[i - 1]![0])) / 1000 : 0);
    bytes += points[i]![1] * seconds;
  }
  return Math.round(bytes);
}

/**
 * Readings from the server's provider monitoring over the last five minutes: the latest CPU
 * percentage and memory in use, and the bytes read from and written to disk in that window.
 * A provider without metrics, or a figure its API lacks, leaves the field null.
 */
export function providerMetricsReader(ctx: CoreContext, providers: Map<ProviderName, Provider>): MetricsReader {
  return {
    async read(server) {
      if (!providers.get(server.provider)?.metrics) return null;
      const end = new Date();
      const metrics = await providerMetrics(ctx, providers, server, { start: new Date(end.getTime() - READING_WINDOW_MS), end });
      return {
        cpu_usage_percent: latest(metrics, 'cpu_percent'),
        memory_usage_bytes: latest(metrics, 'memory_used_bytes'),
        disk_read_bytes: total(metrics, 'disk_read_bytes_per_second'),
        disk_write_bytes: total(metrics, 'disk_write_bytes_per_second'),
      };
    },
  };
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** How long the request waits for a catalogue that is not cached yet before answering without it. */
const CATALOGUE_WAIT_MS = 3000;

export async function dropletMetrics(catalogue: Catalog, server: ServerRecord, reader: MetricsReader | null = null): Promise<DropletMetrics> {
  let plan: { vcpus: number; memory_mb: number; disk_gb: number } | undefined;
  if (catalogue.has(server.provider)) {
    try {
      plan = (await catalogue.forProvider(server.provider, { waitMs: CATALOGUE_WAIT_MS })).plans.find((p) => p.id === server.plan);
    } catch {
      // The provider's catalogue cannot be read right now: the plan's figures are then unavailable, not an error.
      plan = undefined;
    }
  }
  const usage = (await reader?.read(server).catch(() => null)) ?? {};
  const metrics: Omit<DropletMetrics, 'sources' | 'collected_at'> = {
    cpu_usage_percent: usage.cpu_usage_percent ?? null,
    memory_usage_bytes: usage.memory_usage_bytes ?? null,
    memory_total_bytes: plan ? plan.memory_mb * MIB : null,
    disk_read_bytes: usage.disk_read_bytes ?? null,
    disk_write_bytes: usage.disk_write_bytes ?? null,
    vcpus: plan ? plan.vcpus : null,
    disk_total_bytes: plan ? plan.disk_gb * GIB : null,
  };
  const fromPlan = new Set(['memory_total_bytes', 'vcpus', 'disk_total_bytes']);
  const sources: DropletMetrics['sources'] = {};
  for (const [field, value] of Object.entries(metrics)) sources[field] = value === null ? 'unavailable' : fromPlan.has(field) ? 'plan' : 'provider';
  return { ...metrics, sources, collected_at: new Date().toISOString() };
}
