import { ALL_EVENTS, MIN_SECRET_LENGTH, WEBHOOK_EVENT_TYPES } from '../../core/webhooks/model.js';
import type { JsonSchema } from '../validation.js';
import { workspaceName } from './common.js';

const url: JsonSchema = { type: 'string', minLength: 1, maxLength: 2048, description: 'Where events are POSTed: http or https; loopback, private and link-local addresses are refused unless WEBHOOK_ALLOW_PRIVATE_TARGETS', example: 'https://hooks.example.com/provisioning' };
const events: JsonSchema = {
  type: 'array',
  minItems: 1,
  maxItems: 20,
  items: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES, ALL_EVENTS] },
  description: 'The event types to receive; `*` for all',
};
const secret: JsonSchema = {
  type: 'string',
  minLength: MIN_SECRET_LENGTH,
  maxLength: 256,
  description: `The HMAC key of \`X-PE-Signature\`, at least ${MIN_SECRET_LENGTH} characters; generated when omitted. Shown only in the create answer`,
};
const description: JsonSchema = { type: ['string', 'null'], maxLength: 500 };

export const webhookParams: JsonSchema = { type: 'object', required: ['workspace'], properties: { workspace: workspaceName } };
export const webhookIdParams: JsonSchema = {
  type: 'object',
  required: ['workspace', 'id'],
  properties: { workspace: workspaceName, id: { type: 'string', pattern: '^wh_[0-9a-f]{16}$', description: 'Webhook id', example: 'wh_0123456789abcdef' } },
};

export const createWebhookBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'events'],
  properties: { url, events, secret, active: { type: 'boolean', default: true }, description },
};

export const changeWebhookBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { url, events, secret: { ...secret, description: 'A new secret (rotation); never shown again' }, active: { type: 'boolean' }, description },
};

export const webhookSchema: JsonSchema = {
  type: 'object',
  required: ['id', 'workspace', 'url', 'events', 'active', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'string' },
    workspace: { type: 'string' },
    url: { type: 'string' },
    events: { type: 'array', items: { type: 'string' } },
    active: { type: 'boolean' },
    description: { type: ['string', 'null'] },
    created_by: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
};

export const createdWebhookSchema: JsonSchema = {
  ...webhookSchema,
  required: [...(webhookSchema.required as string[]), 'secret'],
  properties: { ...(webhookSchema.properties as Record<string, JsonSchema>), secret: { type: 'string', description: 'The signing secret: shown this once, never again' } },
};
