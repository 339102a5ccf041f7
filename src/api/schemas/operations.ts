import { OPERATION_STATUSES, OPERATION_TYPES } from '../../core/operations/model.js';
import type { JsonSchema } from '../validation.js';
import { operationId, pageQuery, providerName, workspaceName } from './common.js';

export const operationIdParams: JsonSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: operationId },
};

export const listOperationsQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...pageQuery,
    status: { type: 'string', enum: [...OPERATION_STATUSES] },
    type: { type: 'string', enum: [...OPERATION_TYPES] },
    workspace: workspaceName,
    provider: providerName,
  },
};
