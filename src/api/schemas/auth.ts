import type { JsonSchema } from '../validation.js';

export const loginBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password'],
  properties: {
    username: { type: 'string', minLength: 1, maxLength: 64 },
    password: { type: 'string', minLength: 1, maxLength: 256 },
  },
};

export const refreshBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['refresh_token'],
  properties: { refresh_token: { type: 'string', minLength: 1, maxLength: 4096 } },
};

export const tokenPairSchema: JsonSchema = {
  type: 'object',
  properties: { token: { type: 'string' }, refresh_token: { type: 'string' }, expires_in: { type: 'integer' } },
};
