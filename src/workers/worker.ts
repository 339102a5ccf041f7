import { Worker } from 'bullmq';
import type { Config } from '../core/config.js';
import { closeCoreContext, createCoreContext, type CoreContext } from '../core/context.js';
import type { Logger } from '../core/logger.js';
import { OPERATIONS_QUEUE, type OperationJobData } from '../core/queue.js';
import { connectRedis } from '../core/redis.js';
import type { Provider } from '../providers/types.js';
import { listenForCancellations } from './cancellation.js';
import { processors } from './processors/index.js';
import { runOperation } from './run-operation.js';
import { sweepOnce } from './sweep.js';

export interface RunningWorker {
  ctx: CoreContext;
  worker: Worker<OperationJobData>;
  close(): Promise<void>;
}

export async function startWorker(config: Config, redisUrl: string, logger: Logger, providers: Map<string, Provider>): Promise<RunningWorker> {
  const ctx = createCoreContext(config, redisUrl, logger, 'worker');
  const blocking = connectRedis(redisUrl, 'worker-blocking');
  const subscriber = connectRedis(redisUrl, 'worker-cancel');

  const worker: Worker<OperationJobData> = new Worker<OperationJobData>(
    OPERATIONS_QUEUE,
    (job, _token, signal) =>
      runOperation({ ctx, providers, processors, cancelJob: (id) => void worker.cancelJob(id, 'cancel requested') }, job, signal),
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
  worker.on('error', (err) => logger.error('worker error', { error: err.message }));

  await listenForCancellations(subscriber, ctx.keys, (id) => worker.cancelJob(id, 'cancel requested'), logger);

  const sweep = setInterval(() => {
    sweepOnce(ctx).catch((err) => logger.error('sweep failed', { error: (err as Error).message }));
  }, config.worker.sweepIntervalMs);

  void worker.run();
  await worker.waitUntilReady();

  return {
    ctx,
    worker,
    close: async () => {
      clearInterval(sweep);
      await subscriber.quit().catch(() => undefined);
      await worker.close();
      await blocking.quit().catch(() => undefined);
      await closeCoreContext(ctx);
    },
  };
}
