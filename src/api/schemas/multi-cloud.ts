import type { JsonSchema } from '../validation.js';

export const providerIdParams: JsonSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$', description: "The provider's own server id" } },
};

export const waitQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { wait: { type: 'boolean', default: false, description: "Wait for the operation and answer with the provider's resource" } },
};

export const registerBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', maxLength: 253, pattern: '^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?$' },
    region: { type: 'string', minLength: 1, maxLength: 64 },
    size: { type: 'string', minLength: 1, maxLength: 64 },
    image: { type: 'string', minLength: 1, maxLength: 128 },
    ssh_keys: { type: 'array', maxItems: 20, items: { type: ['string', 'integer'] } },
    user_data: { type: 'string', maxLength: 65536 },
  },
};

export const powerActionBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  properties: { action: { type: 'string', enum: ['reboot', 'power_off', 'power_on'] } },
};

export const seedResourceSchema: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, name: { type: 'string' }, status: { type: 'string' }, ip: { type: ['string', 'null'] },
    region: { type: 'string' }, size: { type: 'string' }, created_at: { type: 'string' },
  },
};

export { detailError } from '../detail-router.js';

/** `{droplet: …, operation_id}`: the server once its operation is done (null if it is gone since). */
export function seedResourceAnswer(resource: string): JsonSchema {
  return {
    type: 'object',
    required: [resource, 'operation_id'],
    properties: { [resource]: { oneOf: [seedResourceSchema, { type: 'null' }] }, operation_id: { type: 'string', format: 'uuid' } },
  };
}

/** `{status: "deleted", droplet_id: …}` */
export function seedDeletedAnswer(idField: string): JsonSchema {
  return { type: 'object', required: ['status', idField], properties: { status: { type: 'string', enum: ['deleted'] }, [idField]: { type: 'string' } } };
}

/** `/multi/list`: one list per configured provider, by its path prefix; a provider that failed is in `errors`. */
export function multiListAnswer(prefixes: string[]): JsonSchema {
  return {
    type: 'object',
    properties: {
      ...Object.fromEntries(prefixes.map((prefix) => [prefix, { type: 'array', items: seedResourceSchema }])),
      errors: { type: 'object', additionalProperties: { type: 'string' }, description: 'Prefix → why that provider could not be listed' },
    },
  };
}
