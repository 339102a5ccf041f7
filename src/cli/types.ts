/** The API's records as `pe` reads them: the engine's own types (type-only imports, nothing of the engine is loaded). */
import type { LogEntry, LogPage as EngineLogPage } from '../core/operations/log.js';
import type { Operation as OperationRecord, OperationActions, OperationProgress } from '../core/operations/model.js';
import type { ServerRecord } from '../core/servers/inventory.js';
import type { StepView, WorkflowView } from '../core/workflows/view.js';

export type { LogEntry };

/**
 * An operation, with what may be done with it now. Its status and progress are looser than the
 * record's: `pe` moves the ones it shows on from the event stream, whose fields are plain strings.
 */
export type Operation = Omit<OperationRecord, 'status' | 'progress'> & {
  status: string;
  progress: Partial<OperationProgress> | null;
  actions?: OperationActions;
};

export type Server = ServerRecord;

/** A workflow's step; its status, too, is moved on from the event stream. */
export type WorkflowStep = Omit<StepView, 'status'> & { status: string };

export type Workflow = Operation & Pick<WorkflowView, 'workflow_type'> & { steps: WorkflowStep[]; rollback: WorkflowStep[] };

/** `GET /v1/operations/{id}/logs`. */
export type LogPage = EngineLogPage & { operation_id: string };
