/**
 * Requests per minute and errors in the last hour, from the `droplet_requests_total` and
 * `droplet_errors_total` counters the HTTP middleware already keeps (src/core/metrics/): a
 * sample of both every few seconds, and the difference to the sample a minute (an hour) ago.
 */
import type { DropletSeries } from '../metrics/droplet.js';

interface Sample {
  at: number;
  requests: number;
  errors: number;
}

const SAMPLE_EVERY_MS = 5000;
const KEEP_MS = 3_600_000;

async function total(counter: DropletSeries['requests']): Promise<number> {
  const { values } = await counter.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

export class RequestRates {
  private readonly samples: Sample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly series: DropletSeries) {
    // Counted from zero at start: the counters are as old as this process.
    this.samples.push({ at: Date.now(), requests: 0, errors: 0 });
    this.timer = setInterval(() => void this.sample(), SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  private async sample(): Promise<Sample> {
    const s = { at: Date.now(), requests: await total(this.series.requests), errors: await total(this.series.errors) };
    this.samples.push(s);
    while (this.samples.length > 1 && this.samples[1]!.at <= s.at - KEEP_MS) this.samples.shift();
    return s;
  }

  /** The newest sample at least `ms` old, or the oldest kept when none is. */
  private since(now: number, ms: number): Sample {
    let found = this.samples[0]!;
    for (const s of this.samples) {
      if (s.at <= now - ms) found = s;
      else break;
    }
    return found;
  }

  async now(): Promise<{ requestsTotal: number; errorsTotal: number; requestsPerMinute: number; errorsLastHour: number }> {
    const current = await this.sample();
    return {
      requestsTotal: current.requests,
      errorsTotal: current.errors,
      requestsPerMinute: current.requests - this.since(current.at, 60_000).requests,
      errorsLastHour: current.errors - this.since(current.at, KEEP_MS).errors,
    };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
