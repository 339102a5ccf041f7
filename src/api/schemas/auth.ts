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
  required: ['token', 'refresh_token', 'expires_in', 'token_type'],
  properties: {
    token: { type: 'string', description: 'The access token: send it as `Authorization: Bearer <token>`' },
    refresh_token: { type: 'string', description: 'Exchange it once at `/v1/auth/refresh` for new tokens' },
    expires_in: { type: 'integer', description: 'Seconds until the access token expires' },
    token_type: { type: 'string', enum: ['Bearer'] },
  },
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
