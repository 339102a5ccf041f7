import { bootConfig, requireRedisUrl } from '../core/boot.js';
import { Keys } from '../core/keys.js';
import { createLogger } from '../core/logger.js';
import { createRequestBudgets } from '../core/rate-budget/index.js';
import { connectRedis } from '../core/redis.js';
import { bootSecretBox, orStopOnConfigError } from '../core/secrets/boot.js';
import { engineKey } from '../core/ssh/engine-key.js';
import { createProviders } from '../providers/registry.js';
import { closeRedis, stopWithin } from '../supervisor/shutdown.js';
import { startHeartbeat, type Heartbeat } from './heartbeat.js';
import { MAINTENANCE_QUEUE, startWorker, type RunningWorker } from './worker.js';
import { WORKFLOWS_QUEUE, operationsQueueName } from '../core/queue.js';

const config = bootConfig('worker');
const secrets = bootSecretBox(config, 'worker');
const name = process.env.WORKER_NAME ?? 'worker';
const logger = createLogger(name, config.logLevel);
const redisUrl = requireRedisUrl(config, 'worker');
// SIGTERM/SIGINT: take no more jobs, let the active ones finish for up to SHUTDOWN_TIMEOUT_MS,
// then exit at once; a second signal means now. Jobs cut short are taken over by another worker
// once their locks expire (WORKER_LOCK_MS) and resume from their markers, as after a crash.
// Set up before anything connects, so a stop while starting (a Redis that never answers) has its deadline too.
let running: RunningWorker | null = null;
let heartbeat: Heartbeat | null = null;
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
    await heartbeat?.stop();
    // After the jobs: their last provider calls still settle their budgets.
    await closeRedis(budgetRedis);
    return note;
  },
  cutShort: () => {
    const active = running?.activeJobs() ?? 0;
    const redisLost = running?.redisLost();
    const jobs = `${active} active job${active === 1 ? '' : 's'} cut short${active > 0 ? `; another worker takes ${active === 1 ? 'it' : 'them'} over once ${active === 1 ? 'its lock expires' : 'their locks expire'}` : ''}`;
    return redisLost ? `${jobs} (Redis unreachable: ${redisLost})` : jobs;
  },
});

// The provider accounts' request budgets, shared with every other worker and API replica.
const budgetRedis = connectRedis(redisUrl, 'worker-request-budgets');
// Its errors reach the callers of its commands; that Redis is gone the worker's other connections say.
budgetRedis.on('error', () => undefined);
const providers = createProviders(
  config.providers,
  {
    pollIntervalMs: config.worker.pollIntervalMs,
    requestTimeoutMs: config.worker.requestTimeoutMs,
    maxConcurrency: config.worker.providerConcurrency,
  },
  createRequestBudgets(budgetRedis, new Keys(config.keyPrefix), config),
);
// The engine's SSH key, opened (or made) now: one the secret key does not open stops the
// worker at its start, naming the setting, rather than failing its first create.
await orStopOnConfigError('worker', engineKey(budgetRedis, new Keys(config.keyPrefix), config.ssh, secrets));
running = await startWorker(config, redisUrl, logger, providers);
// Says every few seconds that this process is alive and how busy (the dashboard's workers).
const queues = [...[...providers.keys()].map(operationsQueueName), WORKFLOWS_QUEUE, MAINTENANCE_QUEUE];
heartbeat = startHeartbeat(budgetRedis, new Keys(config.keyPrefix), logger, { name, queues, activeJobs: () => running?.activeJobs() ?? 0 });
logger.info('worker started', { concurrency: config.worker.concurrency, providers: [...providers.keys()] });
