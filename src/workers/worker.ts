import { Queue, Worker } from 'bullmq';
import type { Config } from '../core/config.js';
import { closeCoreContext, createCoreContext, type CoreContext } from '../core/context.js';
import type { Logger } from '../core/logger.js';
import { operationsQueueName, WORKFLOWS_QUEUE, type OperationJobData } from '../core/queue.js';
import { connectRedis } from '../core/redis.js';
import type { Provider, ProviderName } from '../providers/types.js';
import { listenForCancellations } from './cancellation.js';
import { listenForLaneTurns } from './lane-wake.js';
import { processors } from './processors/index.js';
import { runOperation } from './run-operation.js';
import { runWorkflowJob } from './run-workflow.js';
import { sweepOnce } from './sweep.js';
import { reconcileOnce } from './reconcile.js';
import { AccountWatcher } from './waiting/watcher.js';
import { watcherSpacingMs } from '../core/rate-budget/model.js';
import { accountIdFor } from '../providers/registry.js';

/** Housekeeping that runs on a schedule, one run at a time across every worker process. */
export const MAINTENANCE_QUEUE = 'maintenance';

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

  // Each provider account's waits are looked after by one watcher across the fleet (a lease).
  const accountOf = (provider: ProviderName) => accountIdFor(provider, config.providers) ?? provider;
  const watchers = [...providers.values()].map(
    (provider) =>
      new AccountWatcher(ctx, provider, accountOf(provider.name), ctx.queues.for(provider.name), {
        minIntervalMs: config.worker.watchMinIntervalMs,
        maxIntervalMs: config.worker.watchMaxIntervalMs,
        requestSpacingMs: watcherSpacingMs(config.rateLimits[provider.name]),
      }),
  );

  for (const name of providers.keys()) {
    const worker: Worker<OperationJobData> = new Worker<OperationJobData>(
      operationsQueueName(name),
      (job, token, signal) => runOperation({ ctx, providers, processors, cancelJob: (id) => void cancelJob(id), accountOf }, job, token, signal),
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
  await listenForLaneTurns(subscriber, ctx);

  // Every worker declares the same scheduler (an upsert), and the queue's global concurrency
  // of one keeps two reconciles from overlapping whichever workers pick them up.
  const maintenance = new Queue(MAINTENANCE_QUEUE, { connection: ctx.redis, prefix: ctx.keys.bullPrefix() });
  await maintenance.setGlobalConcurrency(1);
  await maintenance.upsertJobScheduler('reconcile', { every: config.worker.reconcileIntervalMs }, { name: 'reconcile', opts: { removeOnComplete: 100, removeOnFail: 100 } });
  const housekeeper = new Worker(
    MAINTENANCE_QUEUE,
    async (job) => {
      if (job.name !== 'reconcile') return null;
      const report = await reconcileOnce(ctx, providers);
      logger.info('reconciled the inventory', { checked: report.checked, gone: report.gone.length, changed: report.changed.length, errors: report.errors });
      return report;
    },
    { connection: blocking, prefix: ctx.keys.bullPrefix(), concurrency: 1, autorun: false },
  );
  housekeeper.on('error', (err) => logger.error('maintenance worker error', { error: err.message }));

  // Workflows advance here; their steps run on the provider queues above.
  const workflows = new Worker<OperationJobData>(WORKFLOWS_QUEUE, (job) => runWorkflowJob(ctx, job), {
    connection: blocking,
    prefix: ctx.keys.bullPrefix(),
    concurrency: config.worker.concurrency,
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: config.worker.lockDurationMs,
    maxStalledCount: 10,
    autorun: false,
  });
  workflows.on('error', (err) => logger.error('workflow worker error', { error: err.message }));

  const sweep = setInterval(() => {
    sweepOnce(ctx).catch((err) => logger.error('sweep failed', { error: (err as Error).message }));
  }, config.worker.sweepIntervalMs);

  for (const worker of [...workers.values(), housekeeper, workflows]) void worker.run();
  await Promise.all([...workers.values(), housekeeper, workflows].map((w) => w.waitUntilReady()));
  for (const watcher of watchers) watcher.start();

  return {
    ctx,
    workers,
    close: async () => {
      clearInterval(sweep);
      await Promise.all(watchers.map((w) => w.stop()));
      await subscriber.quit().catch(() => undefined);
      await Promise.all([...workers.values(), housekeeper, workflows].map((w) => w.close()));
      await maintenance.close();
      await blocking.quit().catch(() => undefined);
      await closeCoreContext(ctx);
    },
  };
}
