import type { Job, Worker } from 'bullmq';
import type { EngineProcessSeries } from '../core/metrics/process-series.js';

/**
 * Counts the job runs BullMQ hands back for another attempt: a `failed` event whose job still
 * has attempts left and was not moved to the failed set (it has no `finishedOn`). Parking and
 * rate-limit sleeps end a run with DelayedError, which is no failure and is not counted.
 */
export function countJobRetries(series: EngineProcessSeries, workers: Iterable<Worker>): void {
  for (const worker of workers) {
    worker.on('failed', (job: Job | undefined) => {
      if (job && !job.finishedOn && job.attemptsMade < (job.opts.attempts ?? 1)) series.jobRetried(worker.name);
    });
  }
}
