/**
 * The mesh seed's `droplet_*` series (multi-cloud-manager-api.md, `GET /metrics`), each with a
 * `droplet_id` label. They describe this API process: its requests, its errors, its uptime,
 * CPU and memory.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface DropletSeries {
  requests: Counter<'droplet_id'>;
  errors: Counter<'droplet_id'>;
}

export function registerDropletMetrics(registry: Registry, dropletId: string): DropletSeries {
  const labels = { droplet_id: dropletId };
  const requests = new Counter({ name: 'droplet_requests_total', help: 'Total number of requests', labelNames: ['droplet_id'], registers: [registry] });
  // An error is an answer the engine failed to give (5xx); refusals of bad requests (4xx) are not counted.
  const errors = new Counter({ name: 'droplet_errors_total', help: 'Total number of errors', labelNames: ['droplet_id'], registers: [registry] });
  requests.inc(labels, 0);
  errors.inc(labels, 0);
  new Gauge({
    name: 'droplet_uptime_seconds',
    help: 'Uptime in seconds',
    labelNames: ['droplet_id'],
    registers: [registry],
    collect() {
      this.set(labels, Math.floor(process.uptime()));
    },
  });
  // CPU over the time since the previous scrape (since start for the first), as a share of one core.
  let last = { at: performance.now() - process.uptime() * 1000, usage: { user: 0, system: 0 } };
  new Gauge({
    name: 'droplet_cpu_percent',
    help: 'CPU usage percentage',
    labelNames: ['droplet_id'],
    registers: [registry],
    collect() {
      const now = { at: performance.now(), usage: process.cpuUsage() };
      const cpuMs = (now.usage.user - last.usage.user + now.usage.system - last.usage.system) / 1000;
      const wallMs = Math.max(1, now.at - last.at);
      last = now;
      this.set(labels, Math.round((cpuMs / wallMs) * 1000) / 10);
    },
  });
  new Gauge({
    name: 'droplet_memory_bytes',
    help: 'Memory usage in bytes',
    labelNames: ['droplet_id'],
    registers: [registry],
    collect() {
      this.set(labels, process.memoryUsage.rss());
    },
  });
  return { requests, errors };
}
