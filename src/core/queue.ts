import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { ProviderName } from '../common/provider.js';
import type { Config } from './config.js';
import type { Keys } from './keys.js';

/**
 * One queue per provider: the job name is the operation type and the job id the operation
 * id. Separate queues let a provider's rate limit pause its own jobs and no one else's.
 */
export function operationsQueueName(provider: ProviderName): string {
  return `operations-${provider}`;
}

/** Workflow operations and their advances: not tied to one provider's rate limit. */
export const WORKFLOWS_QUEUE = 'workflows';

export interface OperationJobData {
  operationId: string;
  traceId: string;
  /** The W3C trace context of whoever enqueued the job, when tracing runs: the run's span continues it. */
  traceparent?: string;
}

export type OperationQueue = Queue<OperationJobData>;

/**
 * Runs a sleeping (delayed) job now. One that is not delayed (running, waiting, gone) is left
 * as it is: whoever wakes a job cannot know whether another already did.
 */
export async function wakeJob(queue: Queue, id: string): Promise<void> {
  const job = await queue.getJob(id).catch(() => undefined);
  await job?.promote().catch(() => undefined);
}

/**
 * A queue's errors are its connection's, which every caller also sees in its own commands;
 * with no listener BullMQ prints each reconnect attempt to stderr while Redis is away. A
 * process that wants them logged adds its own listener (the worker does).
 */
function quietUnlessHeard(queue: OperationQueue): OperationQueue {
  queue.on('error', () => undefined);
  return queue;
}

export class OperationQueues {
  private readonly queues = new Map<ProviderName, OperationQueue>();
  private workflowQueue?: OperationQueue;

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly keys: Keys,
  ) {}

  for(provider: ProviderName): OperationQueue {
    let queue = this.queues.get(provider);
    if (!queue) {
      queue = new Queue<OperationJobData>(operationsQueueName(provider), { connection: this.connection, prefix: this.keys.bullPrefix() });
      quietUnlessHeard(queue);
      this.queues.set(provider, queue);
    }
    return queue;
  }

  workflows(): OperationQueue {
    this.workflowQueue ??= quietUnlessHeard(new Queue<OperationJobData>(WORKFLOWS_QUEUE, { connection: this.connection, prefix: this.keys.bullPrefix() }));
    return this.workflowQueue;
  }

  /** The queue an operation's job lives on: workflows on theirs, everything else on its provider's. */
  queueFor(op: { type: string; provider: ProviderName }): OperationQueue {
    return op.type.startsWith('workflow.') ? this.workflows() : this.for(op.provider);
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values(), ...(this.workflowQueue ? [this.workflowQueue] : [])].map((q) => q.close()));
  }
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
    // The operation record is what counts once a job has ended (its result, error and history
    // are there): a finished job (about 1.5 KB each) is kept only briefly, for an operator looking
    // at the queue, and a bounded number of them, so a busy hour cannot fill Redis with them.
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 24 * 3600, count: 1000 },
  };
}
