import { PROVIDER_NAMES } from '../../common/provider.js';
import type { StepType, WorkflowType } from './model.js';

/**
 * JSON Schemas of workflow parameters and of each step type's parameters. They live in
 * core (not api/schemas) because the workflow compiler checks step parameters that arrive
 * nested inside one request body, each against the schema of its own step type.
 */
type Schema = Record<string, unknown>;

const slug: Schema = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' };
const provider: Schema = { type: 'string', enum: [...PROVIDER_NAMES] };
const hostname: Schema = { type: 'string', maxLength: 253, pattern: '^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$' };
const tags: Schema = { type: 'array', maxItems: 20, uniqueItems: true, default: [], items: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_:-]+$' } };
const sshKeys: Schema = { type: 'array', maxItems: 20, items: { type: 'string', minLength: 1, maxLength: 256 } };
/** A literal engine server id or a reference to an earlier step's result. */
const serverRef: Schema = { type: 'string', pattern: '^(srv-[0-9a-f]{12}|\\$\\{steps\\.[A-Za-z0-9_-]+\\.result(\\.[A-Za-z0-9_]+)+\\})$' };
/** Cluster names become hostnames (`<name>-<n>`) and tags (`cluster:<name>`). */
const clusterName: Schema = { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$' };
const count: Schema = { type: 'integer', minimum: 1, maximum: 100 };
const taskservName: Schema = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' };

export const STEP_PARAMETER_SCHEMAS: Record<StepType, Schema> = {
  'server.create': {
    type: 'object', additionalProperties: false, required: ['provider', 'plan', 'hostname', 'zone'],
    properties: { provider, plan: slug, hostname, zone: slug, tags, image: { ...slug, maxLength: 128 }, ssh_keys: sshKeys, user_data: { type: 'string', maxLength: 65536 } },
  },
  'server.delete': { type: 'object', additionalProperties: false, required: ['server_id'], properties: { server_id: serverRef, force: { type: 'boolean', default: false } } },
  'server.action': { type: 'object', additionalProperties: false, required: ['server_id', 'action'], properties: { server_id: serverRef, action: { type: 'string', enum: ['reboot', 'power_off', 'power_on'] } } },
  'server.resize': { type: 'object', additionalProperties: false, required: ['server_id', 'plan'], properties: { server_id: serverRef, plan: slug } },
  'taskserv.create': taskservStep(),
  'taskserv.delete': taskservStep(),
};

function taskservStep(): Schema {
  return {
    type: 'object', additionalProperties: false, required: ['name', 'servers'],
    properties: { name: taskservName, servers: { type: 'array', minItems: 1, maxItems: 100, items: serverRef }, config: { type: 'object' } },
  };
}

const customStep: Schema = {
  type: 'object', additionalProperties: false, required: ['id', 'type', 'parameters'],
  properties: {
    id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    // Checked against STEP_TYPES by the compiler, whose message names the step.
    type: { type: 'string' },
    depends_on: { type: 'array', maxItems: 100, default: [], items: { type: 'string' } },
    parameters: { type: 'object' },
  },
};

export const WORKFLOW_PARAMETER_SCHEMAS: Record<WorkflowType, Schema> = {
  cluster_create: {
    type: 'object', additionalProperties: false, required: ['cluster_name', 'node_count', 'provider', 'plan', 'zone'],
    properties: { cluster_name: clusterName, node_count: count, provider, plan: slug, zone: slug, image: { ...slug, maxLength: 128 }, ssh_keys: sshKeys, taskservs: { type: 'array', maxItems: 20, uniqueItems: true, default: [], items: taskservName } },
  },
  cluster_delete: { type: 'object', additionalProperties: false, required: ['cluster_name'], properties: { cluster_name: clusterName } },
  server_batch_create: {
    type: 'object', additionalProperties: false, required: ['provider', 'plan', 'zone', 'hostname_prefix', 'count'],
    properties: { provider, plan: slug, zone: slug, hostname_prefix: { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$' }, count, tags, image: { ...slug, maxLength: 128 }, ssh_keys: sshKeys },
  },
  custom: { type: 'object', additionalProperties: false, required: ['steps'], properties: { steps: { type: 'array', minItems: 1, maxItems: 100, items: customStep } } },
};
