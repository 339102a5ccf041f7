/** The JSON Schemas of the droplets API (droplets-kubevirt-api.md): they validate requests and document the routes. */
import { DROPLET_ID_PATTERN } from '../../core/droplets/ids.js';
import { MAPPED_IMAGES } from '../../core/droplets/images.js';
import { DROPLET_STATUSES } from '../../core/droplets/view.js';
import { operationSchema, workspaceName } from '../schemas/common.js';
import type { JsonSchema } from '../validation.js';

export { detailError as detail } from '../detail-router.js';

const slug: JsonSchema = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' };
const ids: JsonSchema = { type: 'array', maxItems: 20, items: { type: 'string', minLength: 1, maxLength: 256 } };

export const dropletIdParams: JsonSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: DROPLET_ID_PATTERN, description: 'Droplet id', example: 'dpl_3f2a9c1e0b7d4e5f8a6b1c2d3e4f5a6b' } },
};

export const listDropletsQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    project_id: { ...workspaceName, description: 'Only the droplets of this project (an engine workspace)' },
    limit: { type: 'integer', minimum: 1, maximum: 200, default: 50, description: 'Droplets per page' },
    cursor: { type: 'string', pattern: '^[0-9]{1,18}$', description: 'From the previous page\'s `Link: rel="next"` / `X-Next-Cursor`' },
  },
};

export const dropletEventsQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 50, default: 20, description: 'Operations per page (each with all its events)' },
    cursor: { type: 'string', pattern: '^[0-9]{1,18}$', description: 'From the previous page\'s `Link: rel="next"` / `X-Next-Cursor`' },
  },
};

export const createDropletBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'image', 'plan_id', 'region'],
  properties: {
    name: {
      type: 'string',
      maxLength: 253,
      pattern: '^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$',
      description: 'Name for the droplet (a hostname)',
      example: 'web-server-01',
    },
    image: { ...slug, maxLength: 128, description: `OS image slug: ${MAPPED_IMAGES.join(', ')} (mapped to each provider's own), or the provider's own image id`, example: 'ubuntu-22-04' },
    plan_id: { ...slug, description: "Size plan, as the droplets' provider (DROPLETS_PROVIDER) names it", example: 's-2vcpu-2gb' },
    region: { ...slug, description: "Region, as the droplets' provider names it", example: 'nyc1' },
    project_id: { ...workspaceName, description: 'The project (engine workspace); DROPLETS_DEFAULT_PROJECT when left out' },
    ssh_key_ids: { ...ids, description: "SSH keys to inject, as the provider knows them (ids or fingerprints)", example: ['sk_abc123'] },
    tags: { type: 'array', maxItems: 20, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_:-]+$' }, example: ['web', 'production'] },
    volume_ids: { ...ids, description: 'Volumes to attach: none can be, the engine attaches no block storage (an empty list is accepted)' },
  },
};

export const resizeDropletBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['plan_id'],
  properties: { plan_id: { ...slug, description: 'The new size plan', example: 's-4vcpu-8gb' } },
};

export const dropletActionBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: { type: { type: 'string', enum: ['reboot', 'power_off', 'power_on'], description: 'reboot: graceful restart; power_off: shut down; power_on: start a powered-off droplet' } },
};

const nullableString: JsonSchema = { type: ['string', 'null'] };

export const dropletSchema: JsonSchema = {
  type: 'object',
  required: ['id', 'project_id', 'name', 'image', 'plan_id', 'status', 'public_ip', 'private_ip', 'region', 'tags', 'volume_ids', 'created_at'],
  properties: {
    id: { type: 'string', example: 'dpl_3f2a9c1e0b7d4e5f8a6b1c2d3e4f5a6b' },
    project_id: { type: 'string' },
    name: { type: 'string' },
    image: nullableString,
    plan_id: { type: 'string' },
    status: { type: 'string', enum: [...DROPLET_STATUSES] },
    public_ip: { ...nullableString, description: 'Public IPv4, null until the provider has assigned one' },
    private_ip: { ...nullableString, description: 'Not read from providers yet: null' },
    region: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
    volume_ids: { type: 'array', items: { type: 'string' }, description: 'Always empty: the engine attaches no volumes' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    provider: { type: 'string' },
    server_id: { ...nullableString, description: 'The engine server id (`/v1/servers/{id}`) once the provider has made it' },
    operation_id: { type: 'string', description: 'The engine operation behind the last change (`/v1/operations/{id}`)' },
  },
};

export const dropletActionSchema: JsonSchema = {
  type: 'object',
  required: ['id', 'type', 'status', 'droplet_id', 'operation'],
  properties: {
    id: { type: 'string', description: 'The engine operation that carries the action' },
    type: { type: 'string', enum: ['reboot', 'power_off', 'power_on'] },
    status: { type: 'string', enum: ['pending', 'in-progress', 'completed', 'errored'] },
    droplet_id: { type: 'string' },
    started_at: { type: 'string', format: 'date-time' },
    operation: operationSchema,
  },
};

export const consoleSchema: JsonSchema = {
  type: 'object',
  required: ['droplet_id', 'type', 'url'],
  properties: {
    droplet_id: { type: 'string' },
    type: { type: 'string', description: 'vnc-websocket (Hetzner), kvm-url (Vultr)' },
    url: { type: 'string', description: "The provider's console URL" },
    websocket_url: { type: 'string', description: 'The same URL when it is a VNC WebSocket (wss://)' },
    password: { type: 'string', description: 'When the provider issues one with the console; shown only here, never stored' },
  },
};

const usage = (description: string): JsonSchema => ({ type: ['number', 'null'], description });

export const metricsSchema: JsonSchema = {
  type: 'object',
  required: ['cpu_usage_percent', 'memory_usage_bytes', 'memory_total_bytes', 'disk_read_bytes', 'disk_write_bytes', 'sources'],
  properties: {
    cpu_usage_percent: usage('Not measured yet: null'),
    memory_usage_bytes: usage('Not measured yet: null'),
    memory_total_bytes: usage("The plan's memory, from the provider catalogue"),
    disk_read_bytes: usage('Not measured yet: null'),
    disk_write_bytes: usage('Not measured yet: null'),
    vcpus: usage("The plan's vCPUs, from the provider catalogue"),
    disk_total_bytes: usage("The plan's disk, from the provider catalogue"),
    sources: { type: 'object', additionalProperties: { type: 'string', enum: ['plan', 'provider', 'unavailable'] }, description: 'Where each figure came from' },
    collected_at: { type: 'string', format: 'date-time' },
  },
};

export const eventSchema: JsonSchema = {
  type: 'object',
  required: ['id', 'type', 'reason', 'message', 'timestamp'],
  properties: {
    id: { type: 'string', description: 'The event stream id' },
    type: { type: 'string', enum: ['Normal', 'Warning'] },
    reason: { type: 'string', example: 'server.create completed' },
    message: { type: 'string' },
    timestamp: { type: 'string', format: 'date-time' },
    operation_id: nullableString,
    operation_type: nullableString,
  },
};
