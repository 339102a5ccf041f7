import { Queue, Worker, type Job } from 'bullmq';
import type { Config } from '../core/config.js';
import { closeCoreContext, createCoreContext, type CoreContext } from '../core/context.js';
import type { Logger } from '../core/logger.js';
import { operationsQueueName, WORKFLOWS_QUEUE, type OperationJobData } from '../core/queue.js';
import { connectRedis, type RedisAddress } from '../core/redis.js';
import type { Provider, ProviderName } from '../common/provider.js';
import { listenForCancellations } from './cancellation.js';
import { listenForLaneTurns } from './lane-wake.js';
import { IntakePauses } from '../core/intake/pauses.js';
import { processors } from './processors/index.js';
import { runOperation } from './run-operation.js';
import { runWorkflowJob } from './run-workflow.js';
import { sweepOnce } from './sweep.js';
import { reconcileOnce } from './reconcile.js';
import { retentionJob } from './retention.js';
import { AccountWatcher } from './waiting/watcher.js';
import { watcherSpacingMs } from '../core/rate-budget/model.js';
import { accountIdFor } from '../providers/registry.js';
import { closeRedis, lostRedis, settled, untilUnlessRedisLost } from '../supervisor/shutdown.js';
import { startOutbox } from './outbox.js';
import type { EngineProcessSeries } from '../core/metrics/process-series.js';
import { countJobRetries } from './job-retries.js';
import { JobsInHand, type HandBackReport } from './jobs-in-hand.js';
import { listenForConfigReloads } from './config-reload.js';

/** Housekeeping that runs on a schedule, one run at a time across every worker process. */
export const MAINTENANCE_QUEUE = 'maintenance';

export interface RunningWorker {
  ctx: CoreContext;
  workers: Map<ProviderName, Worker<OperationJobData>>;
  /** Jobs this process is running right now (operations, workflow steps, housekeeping). */
  activeJobs(): number;
  /** The last Redis connection error, once one of this process's connections has lost Redis; null while it answers. */
  redisLost(): string | null;
  /**
   * Gives back every job still in hand (see jobs-in-hand.ts): for the moment a stop's deadline
   * passes, just before the process exits. Returns what it did, for the stop's last line.
   */
  handBack(reason: string): Promise<HandBackReport>;
  /**
   * Stops taking jobs, lets the active ones finish, then closes. Where Redis is unreachable it
   * does not wait for it: with no job left running it drops its connections and resolves
   * (the note says so). It has no deadline of its own: the caller's (SHUTDOWN_TIMEOUT_MS) ends it.
   */
  close(): Promise<string | void>;
}

/** What a connection to Redis that was lost or could not be made fails with. */
const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|Connection is closed/;

/** One BullMQ worker per configured provider's queue, all in this process; `series` counts what it does (its pushed metrics). */
export async function startWorker(config: Config, redisUrl: RedisAddress, logger: Logger, providers: Map<ProviderName, Provider>, series?: EngineProcessSeries): Promise<RunningWorker> {
  const ctx = createCoreContext(config, redisUrl, logger, 'worker');
  if (series) ctx.store.observers.push(series.operations);
  const blocking = connectRedis(redisUrl, 'worker-blocking');
  const subscriber = connectRedis(redisUrl, 'worker-cancel');
  const connections = [ctx.redis, blocking, subscriber];
  let stopping = false;
  let lastRedisError = '';
  // While stopping, a Redis that is gone is said once, in the stop's last line, not every few hundred ms.
  const logError = (message: string, err: Error, meta: Record<string, unknown> = {}) => {
    const lostConnection = CONNECTION_ERROR.test(err.message);
    if (lostConnection) lastRedisError = err.message;
    if (!(stopping && lostConnection)) logger.error(message, { ...meta, error: err.message });
  };
  for (const conn of connections) conn.on('error', (err: Error) => (lastRedisError = err.message));
  // The queues this process adds jobs to share ctx.redis: its errors are its connection's, which callers see in their commands.
  for (const queue of [...[...providers.keys()].map((name) => ctx.queues.for(name)), ctx.queues.workflows()]) queue.on('error', (err) => logError('queue error', err));
  let active = 0;
  const inHand = new JobsInHand();
  // Three named parameters, not a rest list: BullMQ hands a processor its AbortSignal (what a
  // cancel fires) only when the function declares a third parameter (processor.length >= 3).
  const counted =
    <J, R>(run: (job: J, token?: string, signal?: AbortSignal) => Promise<R>) =>
    async (job: J, token?: string, signal?: AbortSignal): Promise<R> => {
      active++;
      const done = inHand.take(job as unknown as Job, token);
      try {
        return await run(job, token, signal);
      } finally {
        active--;
        done();
      }
    };
  const workers = new Map<ProviderName, Worker<OperationJobData>>();
  // Read before every claim: this process's copy, dropped whenever a pause changes.
  const intake = new IntakePauses(ctx.redis, ctx.keys);
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
      counted((job, token, signal) => runOperation({ ctx, providers, processors, cancelJob: (id) => void cancelJob(id), accountOf, intake }, job, token, signal)),
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
    worker.on('error', (err) => logError('worker error', err, { provider: name }));
    workers.set(name, worker);
  }

  await listenForCancellations(subscriber, ctx.keys, cancelJob, logger);
  await listenForLaneTurns(subscriber, ctx);
  await intake.listen(subscriber);
  await listenForConfigReloads(subscriber, ctx);

  // Every worker declares the same scheduler (an upsert), and the queue's global concurrency
  // of one keeps two reconciles from overlapping whichever workers pick them up.
  const maintenance = new Queue(MAINTENANCE_QUEUE, { connection: ctx.redis, prefix: ctx.keys.bullPrefix() });
  maintenance.on('error', (err) => logError('maintenance queue error', err));
  await maintenance.setGlobalConcurrency(1);
  await maintenance.upsertJobScheduler('reconcile', { every: config.worker.reconcileIntervalMs }, { name: 'reconcile', opts: { removeOnComplete: 100, removeOnFail: 100 } });
  await maintenance.upsertJobScheduler('retention', { every: config.retention.intervalMs }, { name: 'retention', opts: { removeOnComplete: 100, removeOnFail: 100 } });
  const housekeeper = new Worker(
    MAINTENANCE_QUEUE,
    counted(async (job: Job) => {
      if (job.name === 'retention') return retentionJob(ctx);
      if (job.name !== 'reconcile') return null;
      const report = await reconcileOnce(ctx, providers);
      logger.info('reconciled the inventory', { checked: report.checked, gone: report.gone.length, changed: report.changed.length, errors: report.errors });
      return report;
    }),
    { connection: blocking, prefix: ctx.keys.bullPrefix(), concurrency: 1, autorun: false },
  );
  housekeeper.on('error', (err) => logError('maintenance worker error', err));

  // Workflows advance here; their steps run on the provider queues above.
  const workflows = new Worker<OperationJobData>(WORKFLOWS_QUEUE, counted((job, token) => runWorkflowJob(ctx, job, token, intake)), {
    connection: blocking,
    prefix: ctx.keys.bullPrefix(),
    concurrency: config.worker.concurrency,
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: config.worker.lockDurationMs,
    maxStalledCount: 10,
    autorun: false,
  });
  workflows.on('error', (err) => logError('workflow worker error', err));

  // Mesh messages and webhook events: the outbox's deliveries, and the dispatcher that makes the webhook ones.
  const outbox = await startOutbox(ctx, redisUrl, blocking, process.env.WORKER_NAME ?? 'worker', counted, (err) => logError('outbox error', err));
  if (series) countJobRetries(series, [...workers.values(), workflows]);

  const sweep = setInterval(() => {
    sweepOnce(ctx).catch((err) => logger.error('sweep failed', { error: (err as Error).message }));
  }, config.worker.sweepIntervalMs);

  for (const worker of [...workers.values(), housekeeper, workflows]) void worker.run();
  await Promise.all([...workers.values(), housekeeper, workflows].map((w) => w.waitUntilReady()));
  for (const watcher of watchers) watcher.start();

  const redisLost = () => (connections.some(lostRedis) ? lastRedisError || 'not connected' : null);
  return {
    ctx,
    workers,
    activeJobs: () => active,
    redisLost,
    handBack: (reason) => inHand.handBack(ctx, reason),
    close: async () => {
      stopping = true;
      clearInterval(sweep);
      // Stop taking jobs: BullMQ's close fetches no more at once, keeps renewing the active
      // jobs' locks until they finish, then closes its connections.
      const bull = [...workers.values(), housekeeper, workflows];
      const workersClosed = Promise.all(bull.map((w) => w.close()));
      void workersClosed.catch(() => undefined); // awaited below, where Redis answers
      const outboxClosed = outbox.close();
      void outboxClosed.catch(() => undefined);
      // A watcher ends its round in hand and hands its lease on (another worker's watcher takes its waits).
      const watchersStopped = settled(Promise.all(watchers.map((w) => w.stop())));
      // The jobs and the watcher round in hand finish (cancellations still reach the jobs
      // through the subscriber). Where Redis is gone they cannot: they wait for the deadline.
      // Nothing is waited for beyond them: a Redis that is gone gets no QUIT to wait on.
      while (active > 0 || !(watchersStopped.done || redisLost() !== null)) await new Promise((r) => setTimeout(r, 50));
      const graceful = settled(
        (async () => {
          await workersClosed;
          await outboxClosed;
          await maintenance.close();
          await closeRedis(subscriber);
          await closeRedis(blocking);
          await closeCoreContext(ctx);
        })(),
      );
      if (await untilUnlessRedisLost(() => graceful.done, connections)) {
        if (graceful.error) throw graceful.error;
        return;
      }
      const lost = redisLost() ?? lastRedisError;
      for (const conn of connections) conn.disconnect();
      for (const w of bull) void w.disconnect().catch(() => undefined);
      return `Redis unreachable (${lost}); no job was running, its connections were dropped`;
    },
  };
}
