import type { Role } from '../config.js';

/** Permission names as the API reference spells them. */
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
  | 'workflow_cancel';

const READ: Permission[] = ['server_read', 'operation_read', 'catalog_read', 'taskserv_read', 'workflow_read'];
const OPERATE: Permission[] = [...READ, 'server_create', 'server_delete', 'server_action', 'server_console', 'operation_cancel', 'taskserv_create', 'taskserv_delete', 'workflow_submit', 'workflow_cancel'];

const PERMISSIONS_BY_ROLE: Record<Role, ReadonlySet<Permission>> = {
  viewer: new Set(READ),
  operator: new Set(OPERATE),
  admin: new Set([...OPERATE, 'system_metrics']),
};

export function roleHas(role: Role, permission: Permission): boolean {
  return PERMISSIONS_BY_ROLE[role]?.has(permission) ?? false;
}
