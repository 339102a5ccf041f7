/**
 * The API's Prometheus registry (`GET /metrics`): the seed's `droplet_*` series and the
 * process's default metrics (this process), the HTTP histogram (this process), and the
 * engine's series read from Redis at each scrape (the whole system, the same on every replica).
 */
import { collectDefaultMetrics, Registry, type Histogram } from 'prom-client';
import type { CoreContext } from '../context.js';
import { registerDropletMetrics, type DropletSeries } from './droplet.js';
import { registerEngineMetrics } from './engine.js';
import { registerHttpMetrics } from './http.js';

export class ApiMetrics {
  readonly registry = new Registry();
  readonly droplet: DropletSeries;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  /** `dropletId` labels the `droplet_*` series. */
  constructor(ctx: CoreContext, readonly dropletId: string) {
    collectDefaultMetrics({ register: this.registry });
    this.droplet = registerDropletMetrics(this.registry, dropletId);
    this.httpDuration = registerHttpMetrics(this.registry);
    registerEngineMetrics(ctx, this.registry);
  }

  /** One finished request: its duration, and the seed's request and error counters. */
  observe(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
    this.droplet.requests.inc({ droplet_id: this.dropletId });
    if (status >= 500) this.droplet.errors.inc({ droplet_id: this.dropletId });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
