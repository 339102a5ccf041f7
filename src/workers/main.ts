import { bootConfig, requireRedisUrl } from '../core/boot.js';
import { Keys } from '../core/keys.js';
import { closeLogList, createLogger } from '../core/logger.js';
import { logListOf } from '../core/redis-log-transport.js';
import { startTelemetry, stopTelemetry } from '../core/telemetry.js';
import { VERSION } from '../core/version.js';
import { createRequestBudgets } from '../core/rate-budget/index.js';
import { connectRedis } from '../core/redis.js';
import { bootSecretBox, orStopOnConfigError } from '../core/secrets/boot.js';
import { engineKey } from '../core/ssh/engine-key.js';
import { createProviders } from '../providers/registry.js';
import { closeRedis, stopWithin } from '../supervisor/shutdown.js';
import { startHeartbeat, type Heartbeat } from './heartbeat.js';
import { handBackParkedIfLastWorker } from './hand-back-parked.js';
import { closeCoreContext, createCoreContext, type CoreContext } from '../core/context.js';
import { MAINTENANCE_QUEUE, startWorker, type RunningWorker } from './worker.js';
import { WORKFLOWS_QUEUE, operationsQueueName } from '../core/queue.js';
import { OUTBOX_QUEUE } from '../core/outbox/queue.js';
import { Registry } from 'prom-client';
import { EngineProcessSeries } from '../core/metrics/process-series.js';
import { startMetricsPush, type MetricsPush } from '../core/metrics/push.js';
import { hostname } from 'node:os';

const config = bootConfig('worker');
// How long a stopping worker may spend sending its last spans or log records.
const TELEMETRY_FLUSH_MS = 3000;
const secrets = bootSecretBox(config, 'worker');
const name = process.env.WORKER_NAME ?? 'worker';
const redisUrl = requireRedisUrl(config, 'worker');
// Its newest records also go to Redis for GET /logs.
const logger = createLogger(name, config.logLevel, { redisLog: logListOf(config, redisUrl) });
// OpenTelemetry traces, only when an OTLP endpoint is configured; before any job can run.
await startTelemetry(config.telemetry, 'worker', VERSION);
// SIGTERM/SIGINT: take no more jobs, let the active ones finish for up to SHUTDOWN_TIMEOUT_MS,
// then give back the ones still running (pending again, their jobs waiting: another worker takes
// them once this process is gone and their run leases lapse, and resumes from their markers) and
// exit; a second signal means now.
// Set up before anything connects, so a stop while starting (a Redis that never answers) has its deadline too.
let running: RunningWorker | null = null;
let heartbeat: Heartbeat | null = null;
let metricsPush: MetricsPush | null = null;
stopWithin({
  name,
  timeoutMs: config.shutdownTimeoutMs,
  log: (level, message, meta) => logger.log(level, message, meta),
  stop: async () => {
    if (running === null) {
      logger.info('worker stopping while it starts');
      return 'stopped before it was ready';
    }
    const redisLost = running.redisLost();
    logger.info('worker stopping; letting active jobs finish', {
      active_jobs: running.activeJobs(),
      deadline_ms: config.shutdownTimeoutMs,
      ...(redisLost ? { redis: `unreachable (${redisLost})` } : {}),
    });
    const note = await running.close();
    // The last runs' spans and log records, each within a short deadline of its own.
    await stopTelemetry(TELEMETRY_FLUSH_MS);
    await closeLogList(logger, TELEMETRY_FLUSH_MS);
    // After the jobs, so the last push holds their final counts.
    await metricsPush?.stop();
    await heartbeat?.stop();
    // This worker's heartbeat is gone: were it the last, the waits it leaves have nobody to watch them.
    if (!running.redisLost()) {
      const ctx = createCoreContext(config, redisUrl, logger, 'worker-hand-back');
      await handBackParked(ctx).finally(() => closeCoreContext(ctx));
    }
    // After the jobs: their last provider calls still settle their budgets.
    await closeRedis(budgetRedis);
    return note;
  },
  // At the deadline: the jobs still running are given back (pending again, their jobs waiting); another worker takes them once their run leases lapse after this exit.
  handBack: async () => {
    const active = running?.activeJobs() ?? 0;
    // Without Redis nothing can be given back: the jobs are taken over once their locks expire.
    if (running === null || running.redisLost()) return undefined;
    // Its heartbeat goes first: with the jobs given back, this worker watches nothing any more.
    await heartbeat?.stop();
    const given = await running.handBack(`${name} stopped before it finished (SHUTDOWN_TIMEOUT_MS=${config.shutdownTimeoutMs})`);
    await handBackParked(running.ctx);
    if (active === 0) return undefined;
    const back = given.operations + given.others;
    const jobs = `${active} active job${active === 1 ? '' : 's'} cut short and handed back: another worker takes ${back === 1 ? 'it' : 'them'} over once this process is gone (WORKER_LOCK_MS)`;
    return given.failed > 0 ? `${jobs} (${given.failed} could not be handed back: another worker takes ${given.failed === 1 ? 'it' : 'them'} over once ${given.failed === 1 ? 'its lock expires' : 'their locks expire'})` : jobs;
  },
  cutShort: () => {
    const active = running?.activeJobs() ?? 0;
    const redisLost = running?.redisLost();
    const jobs = `${active} active job${active === 1 ? '' : 's'} cut short${active > 0 ? `; another worker takes ${active === 1 ? 'it' : 'them'} over once ${active === 1 ? 'its lock expires' : 'their locks expire'}` : ''}`;
    return redisLost ? `${jobs} (Redis unreachable: ${redisLost})` : jobs;
  },
});

/** Hands back the operations parked on the cloud when no worker is left to watch them (see hand-back-parked.ts); never throws. */
async function handBackParked(ctx: CoreContext): Promise<void> {
  try {
    const handed = await handBackParkedIfLastWorker(ctx, `${name} stopped and no worker is left to watch its wait`);
    if (handed > 0) logger.info('no worker left: handed back the operations waiting on the cloud', { handed_back: handed });
  } catch (err) {
    logger.warn('could not hand back the operations waiting on the cloud; the next worker finds them parked', { error: (err as Error).message });
  }
}

// The provider accounts' request budgets, shared with every other worker and API replica.
const budgetRedis = connectRedis(redisUrl, 'worker-request-budgets');
// Its errors reach the callers of its commands; that Redis is gone the worker's other connections say.
budgetRedis.on('error', () => undefined);
// This process's engine series, pushed to Redis for the API's scrape (core/metrics/merge.ts).
const metricsRegistry = new Registry();
const series = new EngineProcessSeries(metricsRegistry);
const providers = createProviders(
  config.providers,
  {
    pollIntervalMs: config.worker.pollIntervalMs,
    requestTimeoutMs: config.worker.requestTimeoutMs,
    maxConcurrency: config.worker.providerConcurrency,
    observer: series.providerCall,
  },
  createRequestBudgets(budgetRedis, new Keys(config.keyPrefix), config),
);
// The engine's SSH key, opened (or made) now: one the secret key does not open stops the
// worker at its start, naming the setting, rather than failing its first create.
await orStopOnConfigError('worker', engineKey(budgetRedis, new Keys(config.keyPrefix), config.ssh, secrets));
running = await startWorker(config, redisUrl, logger, providers, series);
metricsPush = startMetricsPush(budgetRedis, new Keys(config.keyPrefix), logger, { id: `${name}@${hostname()}:${process.pid}`, registry: metricsRegistry, intervalMs: config.metricsPushMs });
// Says every few seconds that this process is alive and how busy (the dashboard's workers).
const queues = [...[...providers.keys()].map(operationsQueueName), WORKFLOWS_QUEUE, MAINTENANCE_QUEUE, OUTBOX_QUEUE];
heartbeat = startHeartbeat(budgetRedis, new Keys(config.keyPrefix), logger, { name, queues, activeJobs: () => running?.activeJobs() ?? 0 });
logger.info('worker started', { concurrency: config.worker.concurrency, providers: [...providers.keys()] });
