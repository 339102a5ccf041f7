import type { JsonSchema } from '../validation.js';

const scope: JsonSchema = { type: 'string', enum: ['workspace', 'provider'], description: "What is paused: one workspace's new work, or one provider's" };
const name: JsonSchema = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$', description: 'The workspace, or the provider (digitalocean, hetzner, vultr, upcloud)', example: 'hetzner' };

export const pauseIntakeBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['scope', 'name'],
  properties: {
    scope,
    name,
    reason: { type: 'string', maxLength: 500, description: "Shown on every operation the pause holds: `intake paused for provider hetzner: <reason>`" },
  },
};

export const intakePauseParams: JsonSchema = {
  type: 'object',
  required: ['scope', 'name'],
  properties: { scope, name },
};

export const intakePauseSchema: JsonSchema = {
  type: 'object',
  properties: {
    scope: { type: 'string', enum: ['workspace', 'provider'] },
    name: { type: 'string' },
    reason: { type: 'string' },
    paused_by: { type: 'string' },
    paused_at: { type: 'string', format: 'date-time' },
    held: { type: 'integer', description: 'Pending operations it holds back right now' },
  },
};

export const resumeReplySchema: JsonSchema = {
  type: 'object',
  properties: {
    scope: { type: 'string' },
    name: { type: 'string' },
    was_paused: { type: 'boolean', description: 'False when there was no such pause (resuming twice is harmless)' },
    released: { type: 'array', items: { type: 'string' }, description: 'The pending operations it held, now going on' },
  },
};
