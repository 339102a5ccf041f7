import type { Redis } from 'ioredis';
import type { Keys } from '../core/keys.js';
import type { Logger } from '../core/logger.js';

/**
 * Listens for cancel requests the API publishes and aborts the job if this worker holds it
 * (`cancelJob` is a no-op for jobs other workers hold, so every worker can just try).
 */
export async function listenForCancellations(
  subscriber: Redis,
  keys: Keys,
  cancelJob: (jobId: string) => boolean,
  logger: Logger,
): Promise<void> {
  await subscriber.subscribe(keys.cancelChannel());
  subscriber.on('message', (channel: string, operationId: string) => {
    if (channel !== keys.cancelChannel()) return;
    if (cancelJob(operationId)) logger.info('cancel requested; aborting', { operation_id: operationId });
  });
}
