import { bootConfig, onShutdown, requireRedisUrl } from '../core/boot.js';
import { Keys } from '../core/keys.js';
import { createLogger } from '../core/logger.js';
import { createRequestBudgets } from '../core/rate-budget/index.js';
import { connectRedis } from '../core/redis.js';
import { bootSecretBox, orStopOnConfigError } from '../core/secrets/boot.js';
import { engineKey } from '../core/ssh/engine-key.js';
import { createProviders } from '../providers/registry.js';
import { startWorker } from './worker.js';

const config = bootConfig('worker');
const secrets = bootSecretBox(config, 'worker');
const logger = createLogger(process.env.WORKER_NAME ?? 'worker', config.logLevel);
const redisUrl = requireRedisUrl(config, 'worker');
// The provider accounts' request budgets, shared with every other worker and API replica.
const budgetRedis = connectRedis(redisUrl, 'worker-request-budgets');
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
const running = await startWorker(config, redisUrl, logger, providers);
logger.info('worker started', { concurrency: config.worker.concurrency, providers: [...providers.keys()] });
onShutdown(async () => {
  logger.info('worker stopping; letting active jobs finish');
  await running.close();
  // After the jobs: their last provider calls still settle their budgets.
  await budgetRedis.quit().catch(() => undefined);
});
