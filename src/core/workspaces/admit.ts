import type { Permission } from '../auth/permissions.js';
import type { CoreContext } from '../context.js';
import type { Actor } from '../operations/submit.js';
import type { WorkspaceRecord } from './store.js';

/**
 * Before anything is made in a workspace: the caller must be a member holding the permission
 * there (else 403, whether or not the workspace exists, so a name does not leak), and the
 * workspace must exist (404 for an admin naming one nobody made).
 */
export async function admitInto(ctx: CoreContext, actor: Actor, permission: Permission, workspace: string): Promise<WorkspaceRecord> {
  actor.access.requireIn(permission, workspace);
  const record = await ctx.workspaces.require(workspace);
  void ctx.workspaces.touch(workspace).catch(() => undefined);
  // The caller may go on with it (its quotas) rather than read it again.
  return record;
}
