/**
 * Glossary
 * - workflow: an operation of type `workflow.<workflow_type>` whose work is a graph of steps.
 *   Its request holds the compiled step list; its state is never stored apart from that:
 *   what is pending, running or done is read from the steps' own operations.
 * - step: one node of the graph, run as a child operation (`parent_id` = the workflow) whose
 *   id is derived from (workflow id, step id), so submitting it again is a no-op.
 * - advance: one look at a workflow that starts whatever has become startable, applies the
 *   failure policy and finishes the workflow once nothing is left to run (see advance.ts).
 * - rollback step: a `server.delete` undoing a completed `server.create`, id derived from
 *   (workflow id, `rollback:<step id>`).
 */
import { createHash } from 'node:crypto';
import type { ProviderName } from '../../common/provider.js';

export type WorkflowType = 'cluster_create' | 'cluster_delete' | 'server_batch_create' | 'custom';
export const WORKFLOW_TYPES: readonly WorkflowType[] = ['cluster_create', 'cluster_delete', 'server_batch_create', 'custom'];

export type StepType = 'server.create' | 'server.delete' | 'server.action' | 'server.resize' | 'taskserv.create' | 'taskserv.delete';
export const STEP_TYPES: readonly StepType[] = ['server.create', 'server.delete', 'server.action', 'server.resize', 'taskserv.create', 'taskserv.delete'];

export type FailurePolicy = 'stop' | 'continue' | 'rollback';
export const FAILURE_POLICIES: readonly FailurePolicy[] = ['stop', 'continue', 'rollback'];

export interface WorkflowStep {
  id: string;
  type: StepType;
  depends_on: string[];
  /** May hold `${steps.<id>.result.<path>}` references, resolved when the step starts. */
  parameters: Record<string, unknown>;
}

/** What a workflow operation's `request` holds. */
export interface WorkflowRequest {
  workflow_type: WorkflowType;
  on_failure: FailurePolicy;
  /** The parameters as the client sent them (after defaults). */
  parameters: Record<string, unknown>;
  steps: WorkflowStep[];
}

export interface SubmitWorkflowBody {
  workspace: string;
  workflow_type: string;
  parameters: Record<string, unknown>;
  on_failure?: FailurePolicy;
}

export interface CompiledWorkflow {
  request: WorkflowRequest;
  provider: ProviderName;
}

export const ROLLBACK_PREFIX = 'rollback:';

/**
 * A UUID derived from the workflow and a step key (SHA-1, laid out as a version-5 UUID):
 * every advance computes the same id for the same step, so no step can start twice.
 */
export function stepOperationId(workflowId: string, key: string): string {
  const b = createHash('sha1').update(`${workflowId}/${key}`).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The workflow's sealed input holding one create step's `user_data`. */
export function sealedUserDataName(stepId: string): string {
  return `user_data:${stepId}`;
}
