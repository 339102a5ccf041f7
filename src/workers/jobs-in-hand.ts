import type { Job } from 'bullmq';
import type { CoreContext } from '../core/context.js';
import { handBackOperation } from '../core/operations/hand-back.js';
import { WORKFLOWS_QUEUE, type OperationJobData } from '../core/queue.js';

interface InHand {
  job: Job;
  token: string | undefined;
}

export interface HandBackReport {
  /** Operations returned to `pending` (their jobs waiting again). */
  operations: number;
  /** Other jobs (workflow advances, housekeeping) put back to waiting as they were. */
  others: number;
  /** Jobs that could not be given back (Redis did not answer in time): another worker takes them once their locks expire. */
  failed: number;
}

/**
 * The jobs this worker process is running right now, with the lock tokens it holds them by,
 * so a stop whose deadline passes can give them back rather than leave them to lock expiry.
 */
export class JobsInHand {
  private readonly jobs = new Map<string, InHand>();

  get size(): number {
    return this.jobs.size;
  }

  /** Notes a job as taken; call the returned function when its run ends. */
  take(job: Job, token: string | undefined): () => void {
    const key = `${job.queueName}:${job.id}`;
    this.jobs.set(key, { job, token });
    return () => void this.jobs.delete(key);
  }

  /**
   * Gives every job in hand back: its operation to `pending` (provider queues) and the job
   * itself from active to waiting, releasing its BullMQ lock, so no operation stays `running`
   * with nobody on it and no stalled-job check is needed to find it. Meant for the moment just
   * before the process exits: the runs still going here are cut short by that exit, as by a
   * crash. The operation's run lease is kept: it fences the next run until this process is
   * gone and the lease has lapsed, and the markers keep a provider call already made from
   * being made again.
   */
  async handBack(ctx: CoreContext, reason: string): Promise<HandBackReport> {
    const report: HandBackReport = { operations: 0, others: 0, failed: 0 };
    await Promise.all(
      [...this.jobs.values()].map(async ({ job, token }) => {
        try {
          const isOperation = job.queueName !== WORKFLOWS_QUEUE && typeof (job.data as Partial<OperationJobData>)?.operationId === 'string';
          const id = isOperation ? (job.data as OperationJobData).operationId : null;
          const handed = id !== null && (await handBackOperation(ctx.store, ctx.redis, ctx.keys, ctx.logger, id, reason));
          // The run lease stays: this run goes on until the process exits and may still send a
          // provider request, so the next run must not start before the lease lapses after the
          // exit (WORKER_LOCK_MS); the one that takes the job meanwhile waits for it (run-operation.ts).
          await job.moveToWait(token);
          if (handed) report.operations++;
          else report.others++;
        } catch (err) {
          report.failed++;
          ctx.logger.warn('could not hand a job back; another worker takes it once its lock expires', { job_id: job.id, queue: job.queueName, error: (err as Error).message });
        }
      }),
    );
    this.jobs.clear();
    return report;
  }
}
