import { ForbiddenError, NotAMemberError } from '../../common/errors.js';
import { roleIn, type Identity } from './identity.js';
import { GLOBAL_ONLY, roleHas, type Permission } from './permissions.js';

/**
 * What one request's caller may do, and where. Services ask it before they read or change
 * anything of a workspace: a resource of a workspace the caller is no member of is reported
 * as not found (its id does not leak), one where the caller's role lacks the permission is a
 * 403 naming the permission.
 */
export class Access {
  constructor(readonly identity: Identity) {}

  /** In `workspace` when given, else in any workspace (global-only permissions: admins only). */
  can(permission: Permission, workspace?: string): boolean {
    if (this.identity.admin) return true;
    if (GLOBAL_ONLY.has(permission)) return false;
    if (workspace === undefined && this.identity.grants?.includes(permission)) return true;
    if (workspace !== undefined) {
      const role = roleIn(this.identity.workspaces, workspace);
      return role !== undefined && roleHas(role, permission);
    }
    return Object.values(this.identity.workspaces).some((role) => roleHas(role, permission));
  }

  /** The workspaces where the caller holds the permission; null means every workspace. */
  workspacesWith(permission: Permission): string[] | null {
    if (this.identity.admin) return null;
    return Object.entries(this.identity.workspaces)
      .filter(([, role]) => roleHas(role, permission))
      .map(([name]) => name);
  }

  /** Whether the caller may see anything of the workspace at all. */
  sees(workspace: string): boolean {
    return this.identity.admin || roleIn(this.identity.workspaces, workspace) !== undefined;
  }

  /**
   * For a resource that exists in `workspace`: a caller who may not see it gets `notFound`
   * (the same answer as for an id that does not exist); one who sees it without the
   * permission gets 403.
   */
  requireOn(permission: Permission, workspace: string, notFound: () => Error): void {
    if (!this.sees(workspace)) throw notFound();
    if (!this.can(permission, workspace)) throw new ForbiddenError(permission);
  }

  /** For a submit into `workspace`: the caller must be a member holding the permission there. */
  requireIn(permission: Permission, workspace: string): void {
    if (!this.sees(workspace)) throw new NotAMemberError(workspace);
    if (!this.can(permission, workspace)) throw new ForbiddenError(permission);
  }
}
