import type { JsonSchema } from '../validation.js';
import { providerName, serverId, workspaceName, pageQuery } from './common.js';

const slug: JsonSchema = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' };

export const createServerBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['workspace', 'provider', 'plan', 'hostname', 'zone'],
  properties: {
    workspace: workspaceName,
    provider: providerName,
    plan: { ...slug, description: 'Provider plan / size slug, e.g. s-1vcpu-1gb', example: 's-1vcpu-1gb' },
    hostname: {
      type: 'string',
      maxLength: 253,
      pattern: '^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$',
      example: 'web-01',
    },
    zone: { ...slug, description: 'Provider region / location / zone, e.g. nyc3', example: 'nyc3' },
    check_mode: { type: 'boolean', default: false, description: 'Validate against the provider and report what would be created, creating nothing' },
    tags: {
      type: 'array',
      maxItems: 20,
      uniqueItems: true,
      default: [],
      items: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_:-]+$' },
    },
    image: { ...slug, maxLength: 128, description: 'Image slug; the provider\'s current Ubuntu LTS when omitted' },
    ssh_keys: { type: 'array', maxItems: 20, items: { type: 'string', minLength: 1, maxLength: 256 } },
    user_data: { type: 'string', maxLength: 65536 },
  },
};

export const deleteServerBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    workspace: workspaceName,
    server_id: serverId,
    force: { type: 'boolean', default: false },
  },
};

export const serverActionBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  properties: { action: { type: 'string', enum: ['reboot', 'power_off', 'power_on'] } },
};

export const serverIdParams: JsonSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: serverId },
};

export const listServersQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { ...pageQuery, workspace: workspaceName, provider: providerName },
};

export const resizeServerBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['plan'],
  properties: { plan: { ...slug, description: 'The new plan / size / server type', example: 's-2vcpu-4gb' } },
};

export const consoleSchema: JsonSchema = {
  type: 'object',
  properties: {
    server_id: { type: 'string' },
    provider: { type: 'string' },
    type: { type: 'string', description: 'vnc-websocket (Hetzner), kvm-url (Vultr)' },
    url: { type: 'string' },
    password: { type: 'string', description: 'When the provider issues one with the console' },
  },
};
