import type { Logger } from '../logger.js';
import { OperationLog } from './log.js';
import type { OperationStore } from './store.js';
import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';

/**
 * Gives a running operation back: `running` → `pending` through the one guarded transition, so
 * no operation stays `running` with nobody working on it when the worker that held it stops.
 * Its journal stays, so the next worker to claim it resumes from its markers (a provider call
 * already made is found by its marker, not made again); `started_at` stays, which is how a
 * cancel knows it may have to clean up (see cancel.ts). Returns false when it was no longer
 * running (it finished meanwhile, or another worker holds it): then nothing was written.
 */
export async function handBackOperation(store: OperationStore, redis: Redis, keys: Keys, logger: Logger, id: string, reason: string): Promise<boolean> {
  const at = new Date().toISOString();
  const message = `handed back: ${reason}; the next worker to take it resumes from what was done`;
  const back = await store.transition(id, ['running'], 'pending', { progress: { step: 'handed_back', message, at } });
  if (back.outcome !== 'ok') return false;
  await new OperationLog(redis, keys, id).append([message]).catch(() => 0);
  logger.warn('operation handed back', { operation_id: id, trace_id: back.record.trace_id, workspace: back.record.workspace, reason });
  return true;
}
