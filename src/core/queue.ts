import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Config } from './config.js';
import type { Keys } from './keys.js';

/** One queue carries every operation; the job name is the operation type and the job id the operation id. */
export const OPERATIONS_QUEUE = 'operations';

export interface OperationJobData {
  operationId: string;
  traceId: string;
}

export type OperationQueue = Queue<OperationJobData>;

export function createOperationQueue(connection: ConnectionOptions, keys: Keys): OperationQueue {
  return new Queue<OperationJobData>(OPERATIONS_QUEUE, { connection, prefix: keys.bullPrefix() });
}

/**
 * Retryable provider failures (5xx, timeouts) re-run the job with exponential backoff and
 * jitter, so that many operations failing together do not retry in lock-step.
 */
export function operationJobOptions(config: Config, operationId: string): JobsOptions {
  return {
    jobId: operationId,
    attempts: config.worker.attempts,
    backoff: { type: 'exponential', delay: config.worker.backoffDelayMs, jitter: 0.5 },
    removeOnComplete: { age: 24 * 3600, count: 10000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}
