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

export const passwordSchema: JsonSchema = { type: 'string', minLength: 12, maxLength: 256, description: 'At least 12 characters' };

export const logoutBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { refresh_token: { type: 'string', minLength: 1, maxLength: 4096, description: "Ends that token's session too, when it is another one" } },
};

export const changePasswordBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['current_password', 'new_password'],
  properties: { current_password: { type: 'string', minLength: 1, maxLength: 256 }, new_password: passwordSchema },
};
