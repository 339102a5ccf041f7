import { randomUUID } from 'node:crypto';
import type { Operation } from '../src/core/operations/model.js';

/** What makes one bench operation differ from another; the rest is as the API writes a fresh one. */
export type OperationShape = Pick<Operation, 'type' | 'workspace' | 'provider' | 'target' | 'request' | 'trace_id' | 'requested_by'>;

/** An operation as the API accepts it (pending, never run), for the phases that fill Redis through the store. */
export function acceptedOperation(shape: OperationShape): Operation {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    status: 'pending',
    progress: null,
    attempt: 0,
    result: null,
    error: null,
    parent_id: null,
    cancel_requested_at: null,
    cancel_requested_by: null,
    retry_of: null,
    retried_by: null,
    created_at: now,
    updated_at: now,
    started_at: null,
    finished_at: null,
    ...shape,
  };
}
