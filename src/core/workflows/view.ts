/**
 * A workflow as the API serves it. Types only, with no import beyond the operation model: the
 * dashboard shares them, and its typecheck must not pull in the engine's Node.js modules.
 */
import type { Operation, OperationActions, OperationStatus } from '../operations/model.js';

/** One step of a workflow (or of its rollback) as `GET /v1/workflows/{id}` serves it. */
export interface StepView {
  id: string;
  type: string;
  depends_on: string[];
  operation_id: string | null;
  /** The operation's status; `waiting` before it starts, `skipped` if it never will. */
  status: OperationStatus | 'waiting' | 'skipped';
  started_at: string | null;
  finished_at: string | null;
  result: Record<string, unknown> | null;
  error: Operation['error'];
}

/** The workflow operation with every step (and rollback step) as its own operation stands. */
export interface WorkflowView extends Operation {
  workflow_type: string;
  steps: StepView[];
  /** In the order the rollback ran them. */
  rollback: StepView[];
  actions: OperationActions;
}
