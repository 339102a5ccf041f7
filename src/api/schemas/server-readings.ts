import { METRIC_NAMES } from '../../common/provider.js';
import type { JsonSchema } from '../validation.js';
import { pageQuery } from './common.js';

export const serverMetricsQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    start: { type: 'string', format: 'date-time', description: 'Start of the range (RFC 3339); default an hour before `end`', example: '2026-11-28T09:00:00Z' },
    end: { type: 'string', format: 'date-time', description: 'End of the range (RFC 3339), not in the future; default now', example: '2026-11-28T10:00:00Z' },
    step: { type: 'integer', minimum: 1, maximum: 86400, description: 'Seconds between points, where the provider takes a resolution (Hetzner); DigitalOcean and Vultr choose their own' },
  },
};

const nullableString: JsonSchema = { type: ['string', 'null'] };

export const serverMetricsSchema: JsonSchema = {
  type: 'object',
  required: ['server_id', 'provider', 'start', 'end', 'step_seconds', 'series', 'unavailable', 'source'],
  properties: {
    server_id: { type: 'string' },
    provider: { type: 'string' },
    start: { type: 'string', format: 'date-time' },
    end: { type: 'string', format: 'date-time' },
    step_seconds: { type: ['number', 'null'], description: 'Seconds between points as the provider answered; null when it varies' },
    series: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'unit', 'points'],
        properties: {
          name: { type: 'string', enum: [...METRIC_NAMES] },
          unit: { type: 'string', enum: ['percent', 'bytes', 'bytes/s', 'iops', 'packets/s', 'bytes/day'] },
          points: {
            type: 'array',
            description: 'Oldest first',
            items: { type: 'object', required: ['at', 'value'], properties: { at: { type: 'string', format: 'date-time' }, value: { type: 'number' } } },
          },
        },
      },
    },
    unavailable: {
      type: 'array',
      description: "What this provider's API does not offer, and why",
      items: { type: 'object', required: ['metric', 'reason'], properties: { metric: { type: 'string', enum: [...METRIC_NAMES] }, reason: { type: 'string' } } },
    },
    source: { type: 'string', description: "The provider endpoint read, in the provider's terms" },
    note: { type: 'string' },
  },
};

export const serverEventsQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { ...pageQuery.limit, maximum: 100, default: 20, description: 'Operations (each with all its events) or drift findings per page' },
    cursor: pageQuery.cursor,
  },
};

export const serverEventSchema: JsonSchema = {
  type: 'object',
  required: ['id', 'kind', 'at', 'operation_id', 'operation_type', 'from', 'to', 'message'],
  properties: {
    id: { type: 'string', description: 'The event stream id (as `GET /v1/events` gives it)' },
    kind: { type: 'string', enum: ['state', 'progress', 'cancel_requested', 'drift'] },
    at: { type: 'string', format: 'date-time' },
    operation_id: nullableString,
    operation_type: nullableString,
    from: nullableString,
    to: nullableString,
    message: nullableString,
    changes: { type: 'object', description: 'Drift: each changed field as [engine, provider]', additionalProperties: true },
  },
};
