import type { Role } from '../config.js';
import type { StepType } from '../workflows/model.js';

/**
 * Permission names: the API reference's own (`server_read` … `system_metrics`) and the
 * engine's (`server_action`, `server_console`, `catalog_read`, `api_key_manage`,
 * `audit_read`, `user_manage`, `workspace_manage`).
 */
export type Permission =
  | 'server_read'
  | 'server_create'
  | 'server_delete'
  | 'server_action'
  | 'server_console'
  | 'catalog_read'
  | 'operation_read'
  | 'operation_cancel'
  | 'system_metrics'
  | 'taskserv_read'
  | 'taskserv_create'
  | 'taskserv_delete'
  | 'workflow_read'
  | 'workflow_submit'
  | 'workflow_cancel'
  | 'workspace_read'
  | 'workspace_create'
  | 'workspace_manage'
  | 'api_key_manage'
  | 'audit_read'
  | 'user_manage'
  /** Pausing and resuming intake of a workspace (a provider's: global admins only). */
  | 'intake_manage'
  /** Sending mesh messages to other droplets (`POST /send`) and reading what was sent. */
  | 'mesh_send'
  /** Posting mesh messages to this droplet (`POST /message`); what a message then asks is checked as its own permission. */
  | 'mesh_message'
  /** A workspace's webhook subscriptions and their deliveries. */
  | 'webhook_manage'
  /** Stopping this engine instance and reloading its configuration (`/shutdown`, `/emergency-stop`, `/reload-config`). */
  | 'system_control';

/**
 * What making each kind of operation asks of the caller: a workflow's step (a workflow does
 * nothing its submitter could not do step by step), and the dashboard's retry of one.
 */
export const SUBMIT_PERMISSION: Readonly<Record<StepType, Permission>> = {
  'server.create': 'server_create',
  'server.delete': 'server_delete',
  'server.action': 'server_action',
  'server.resize': 'server_action',
  'taskserv.create': 'taskserv_create',
  'taskserv.delete': 'taskserv_delete',
};

const VIEWER: Permission[] = ['server_read', 'operation_read', 'catalog_read', 'taskserv_read', 'workflow_read', 'workspace_read', 'api_key_manage'];
/** Builds and changes, but destroys nothing and opens no console. */
const DEVELOPER: Permission[] = [...VIEWER, 'server_create', 'server_action', 'taskserv_create', 'workflow_submit', 'workflow_cancel', 'operation_cancel'];
const OPERATOR: Permission[] = [...DEVELOPER, 'server_delete', 'server_console', 'taskserv_delete', 'intake_manage', 'mesh_send', 'webhook_manage', 'mesh_message'];
/** A workspace's admin also reads that workspace's audit log. */
const ADMIN: Permission[] = [...OPERATOR, 'audit_read'];
/** Held only by global admins: they are not about one workspace. */
export const GLOBAL_ONLY: ReadonlySet<Permission> = new Set<Permission>(['workspace_create', 'workspace_manage', 'user_manage', 'system_metrics', 'system_control']);

export const PERMISSIONS_BY_ROLE: Record<Role, ReadonlySet<Permission>> = {
  viewer: new Set(VIEWER),
  developer: new Set(DEVELOPER),
  operator: new Set(OPERATOR),
  admin: new Set(ADMIN),
};

/** Whether a role held in a workspace carries the permission there. */
export function roleHas(role: Role, permission: Permission): boolean {
  return PERMISSIONS_BY_ROLE[role]?.has(permission) ?? false;
}

const RANK: Record<Role, number> = { viewer: 0, developer: 1, operator: 2, admin: 3 };

/** The lesser of two roles: what an API key holds when its grant and its owner's differ. */
export function lesserRole(a: Role, b: Role): Role {
  return RANK[a] <= RANK[b] ? a : b;
}

