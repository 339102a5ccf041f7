import { bootConfig, onShutdown, requireRedisUrl } from '../core/boot.js';
import { createLogger } from '../core/logger.js';
import { createProviders } from '../providers/registry.js';
import { startWorker } from './worker.js';

const config = bootConfig('worker');
const logger = createLogger(process.env.WORKER_NAME ?? 'worker', config.logLevel);
const providers = createProviders(config.providers, {
  pollIntervalMs: config.worker.pollIntervalMs,
  requestTimeoutMs: config.worker.requestTimeoutMs,
  maxConcurrency: config.worker.providerConcurrency,
});
const running = await startWorker(config, requireRedisUrl(config, 'worker'), logger, providers);
logger.info('worker started', { concurrency: config.worker.concurrency, providers: [...providers.keys()] });
onShutdown(async () => {
  logger.info('worker stopping; letting active jobs finish');
  await running.close();
});
