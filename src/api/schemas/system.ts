import { OPERATION_STATUSES } from '../../core/operations/model.js';
import type { JsonSchema } from '../validation.js';

export const healthSchema: JsonSchema = {
  type: 'object',
  required: ['status', 'version', 'uptime_seconds', 'checks'],
  properties: {
    status: { type: 'string', enum: ['healthy', 'unhealthy'] },
    version: { type: 'string', example: '0.1.0' },
    uptime_seconds: { type: 'integer', description: 'Since this API process started' },
    checks: { type: 'object', properties: { redis: { type: 'string', enum: ['ok', 'unreachable'] } } },
  },
};

export const metricsSchema: JsonSchema = {
  type: 'object',
  required: ['uptime_seconds', 'tasks'],
  properties: {
    uptime_seconds: { type: 'integer', description: 'Since this API process started' },
    tasks: {
      type: 'object',
      description: 'Operations the engine holds',
      properties: {
        total: { type: 'integer' },
        running: { type: 'integer' },
        by_status: { type: 'object', properties: Object.fromEntries(OPERATION_STATUSES.map((s) => [s, { type: 'integer' }])) },
      },
    },
  },
};
