import { Worker } from 'bullmq';
import type { Config } from '../core/config.js';
import { closeCoreContext, createCoreContext, type CoreContext } from '../core/context.js';
import type { Logger } from '../core/logger.js';
import { operationsQueueName, type OperationJobData } from '../core/queue.js';
import { connectRedis } from '../core/redis.js';
import type { Provider, ProviderName } from '../providers/types.js';
import { listenForCancellations } from './cancellation.js';
import { processors } from './processors/index.js';
import { runOperation } from './run-operation.js';
import { sweepOnce } from './sweep.js';

export interface RunningWorker {
  ctx: CoreContext;
  workers: Map<ProviderName, Worker<OperationJobData>>;
  close(): Promise<void>;
}

/** One BullMQ worker per configured provider's queue, all in this process. */
export async function startWorker(config: Config, redisUrl: string, logger: Logger, providers: Map<ProviderName, Provider>): Promise<RunningWorker> {
  const ctx = createCoreContext(config, redisUrl, logger, 'worker');
  const blocking = connectRedis(redisUrl, 'worker-blocking');
  const subscriber = connectRedis(redisUrl, 'worker-cancel');
  const workers = new Map<ProviderName, Worker<OperationJobData>>();
  // cancelJob is a no-op on a worker that does not hold the job, so asking every one is enough.
  const cancelJob = (id: string) => [...workers.values()].map((w) => w.cancelJob(id, 'cancel requested')).some(Boolean);

  for (const name of providers.keys()) {
    const worker: Worker<OperationJobData> = new Worker<OperationJobData>(
      operationsQueueName(name),
      (job, _token, signal) =>
        runOperation(
          { ctx, providers, processors, cancelJob: (id) => void cancelJob(id), rateLimit: (ms) => worker.rateLimit(ms) },
          job,
          signal,
        ),
      {
        connection: blocking,
        prefix: ctx.keys.bullPrefix(),
        concurrency: config.worker.concurrency,
        lockDuration: config.worker.lockDurationMs,
        stalledInterval: config.worker.lockDurationMs,
        // A job whose worker died is re-run; every run resumes from the marker, so allow several.
        maxStalledCount: 10,
        autorun: false,
      },
    );
    worker.on('error', (err) => logger.error('worker error', { provider: name, error: err.message }));
    workers.set(name, worker);
  }

  await listenForCancellations(subscriber, ctx.keys, cancelJob, logger);

  const sweep = setInterval(() => {
    sweepOnce(ctx).catch((err) => logger.error('sweep failed', { error: (err as Error).message }));
  }, config.worker.sweepIntervalMs);

  for (const worker of workers.values()) void worker.run();
  await Promise.all([...workers.values()].map((w) => w.waitUntilReady()));

  return {
    ctx,
    workers,
    close: async () => {
      clearInterval(sweep);
      await subscriber.quit().catch(() => undefined);
      await Promise.all([...workers.values()].map((w) => w.close()));
      await blocking.quit().catch(() => undefined);
      await closeCoreContext(ctx);
    },
  };
}
