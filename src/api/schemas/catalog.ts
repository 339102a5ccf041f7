import type { JsonSchema } from '../validation.js';
import { providerName } from './common.js';

export const catalogQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    provider: providerName,
    region: { type: 'string', minLength: 1, maxLength: 64, description: 'Only plans offered in this region id' },
    vcpus: { type: 'integer', minimum: 1, maximum: 1024, description: 'Only plans with exactly this many vCPUs' },
    memory_mb: { type: 'integer', minimum: 1, description: 'Only plans with exactly this much memory' },
  },
};

const providersAnswer: JsonSchema = {
  type: 'object',
  description: 'How each provider answered: ok (cached or fresh) or its error, beside the others',
  additionalProperties: { type: 'object', properties: { status: { type: 'string', enum: ['ok', 'error'] }, cached: { type: 'boolean' }, error: { type: 'string' } } },
};

export function catalogAnswer(field: string, item: JsonSchema): JsonSchema {
  return { type: 'object', properties: { [field]: { type: 'array', items: item }, providers: providersAnswer } };
}

export const planSchema: JsonSchema = {
  type: 'object',
  properties: {
    provider: { type: 'string' }, id: { type: 'string' }, vcpus: { type: 'integer' }, memory_mb: { type: 'integer' }, disk_gb: { type: 'number' },
    price_monthly: { type: 'number' }, price_hourly: { type: 'number' }, currency: { type: 'string' }, regions: { type: 'array', items: { type: 'string' } },
  },
};
export const regionSchema: JsonSchema = {
  type: 'object',
  properties: { provider: { type: 'string' }, id: { type: 'string' }, name: { type: 'string' }, country: { type: 'string' }, available: { type: 'boolean' } },
};
export const imageSchema: JsonSchema = {
  type: 'object',
  properties: { provider: { type: 'string' }, id: { type: 'string' }, name: { type: 'string' }, distribution: { type: 'string' } },
};
