import { OPERATION_STATUSES } from '../../core/operations/model.js';
import { FAILURE_POLICIES, WORKFLOW_TYPES } from '../../core/workflows/model.js';
import type { JsonSchema } from '../validation.js';
import { operationId, operationSchema, pageQuery, providerName, workspaceName } from './common.js';

/**
 * The envelope only: `workflow_type` is checked by the workflow compiler (so its message can
 * list the types) and `parameters` against the schema of that type and of each step.
 */
export const submitWorkflowBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['workspace', 'workflow_type', 'parameters'],
  properties: {
    workspace: workspaceName,
    workflow_type: { type: 'string', description: `One of: ${WORKFLOW_TYPES.join(', ')}`, example: 'cluster_create' },
    parameters: { type: 'object', description: 'Per type; `custom` takes `steps: [{id, type, depends_on, parameters}]`, parameters may use `${steps.<id>.result.server_id}`' },
    on_failure: { type: 'string', enum: [...FAILURE_POLICIES], default: 'stop', description: 'stop: start nothing new; continue: run what does not depend on the failure; rollback: also delete the servers it created' },
  },
};

export const workflowIdParams: JsonSchema = { type: 'object', required: ['id'], properties: { id: operationId } };

export const listWorkflowsQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...pageQuery,
    status: { type: 'string', enum: [...OPERATION_STATUSES] },
    workflow_type: { type: 'string', enum: [...WORKFLOW_TYPES] },
    workspace: workspaceName,
    provider: providerName,
  },
};

const stepSchema: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string' },
    depends_on: { type: 'array', items: { type: 'string' } },
    operation_id: { type: ['string', 'null'] },
    status: { type: 'string', description: 'The step operation\'s status, `waiting` before it starts, `skipped` if it never will' },
    started_at: { type: ['string', 'null'] },
    finished_at: { type: ['string', 'null'] },
    result: { type: ['object', 'null'] },
    error: { type: ['object', 'null'] },
  },
};

export const workflowSchema: JsonSchema = {
  type: 'object',
  properties: {
    ...(operationSchema.properties as Record<string, JsonSchema>),
    workflow_type: { type: 'string', enum: [...WORKFLOW_TYPES] },
    steps: { type: 'array', items: stepSchema },
    rollback: { type: 'array', items: stepSchema, description: 'Deletes run to undo completed creates, in the order they ran' },
  },
};
