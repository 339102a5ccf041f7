/**
 * The API's Prometheus registry (`GET /metrics`): the seed's `droplet_*` series and the
 * process's default metrics (this process), the HTTP histogram (this process), the engine's
 * series read from Redis at each scrape (the whole system, the same on every replica), and
 * the engine's per-process counters and histograms summed over this process and the pushed
 * copies of every worker and every other API replica (see merge.ts for how fresh they are and
 * what a process's exit does).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { collectDefaultMetrics, Registry, type Histogram } from 'prom-client';
import type { CoreContext } from '../context.js';
import { registerDropletMetrics, type DropletSeries } from './droplet.js';
import { registerEngineMetrics } from './engine.js';
import { registerHttpMetrics } from './http.js';
import { EngineError, ErrorCodes } from '../../common/errors.js';
import { mergedText } from './merge.js';
import { EngineProcessSeries } from './process-series.js';
import { readProcessMetrics, type ProcessMetricsJson } from './process-store.js';
import { startMetricsPush, type MetricsPush } from './push.js';

/**
 * A scrape reads Redis (the engine gauges, the workers' pushed series): with Redis away it
 * answers 503 by then instead of hanging. It never answers without the workers' series: a
 * partial sum would go down, which Prometheus takes for a counter reset.
 */
const SCRAPE_DEADLINE_MS = 5000;

export class ApiMetrics {
  readonly registry = new Registry();
  readonly droplet: DropletSeries;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** The engine's series this process counts itself (its provider calls, the operations it ended), summed with the workers'. */
  readonly engine: EngineProcessSeries;
  private readonly perProcess = new Registry();
  /** This replica's push of its own engine series, so every other replica's scrape sums them too. */
  private readonly push: MetricsPush;
  private readonly pushId = `api@${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

  /** `dropletId` labels the `droplet_*` series. */
  constructor(private readonly ctx: CoreContext, readonly dropletId: string) {
    collectDefaultMetrics({ register: this.registry });
    this.droplet = registerDropletMetrics(this.registry, dropletId);
    this.httpDuration = registerHttpMetrics(this.registry);
    registerEngineMetrics(ctx, this.registry);
    this.engine = new EngineProcessSeries(this.perProcess);
    ctx.store.observers.push(this.engine.operations);
    this.push = startMetricsPush(ctx.redis, ctx.keys, ctx.logger, { id: this.pushId, registry: this.perProcess, intervalMs: ctx.config.metricsPushMs });
  }

  /** Pushes the final counts once more and stops (before the process's Redis connection closes). */
  close(): Promise<void> {
    return this.push.stop();
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

  async text(): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new EngineError(ErrorCodes.REDIS_UNAVAILABLE, `the engine's series could not be read from Redis within ${SCRAPE_DEADLINE_MS} ms`)), SCRAPE_DEADLINE_MS);
      timer.unref();
    });
    const text = (async () => mergedText(this.registry, this.perProcess, await this.pushed()))();
    // Settled either way, so a collection that ends after the deadline leaves no unhandled rejection.
    text.catch(() => undefined);
    return Promise.race([text, late]).finally(() => clearTimeout(timer));
  }

  /** Every other process's pushed series (workers, other API replicas); this one's are read live. */
  private async pushed(): Promise<ProcessMetricsJson[]> {
    try {
      return await readProcessMetrics(this.ctx.redis, this.ctx.keys, this.pushId);
    } catch (err) {
      throw new EngineError(ErrorCodes.REDIS_UNAVAILABLE, `the workers' metrics could not be read from Redis: ${(err as Error).message}`);
    }
  }
}
