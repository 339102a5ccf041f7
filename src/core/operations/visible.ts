import type { Access } from '../auth/access.js';
import type { Permission } from '../auth/permissions.js';
import type { CoreContext } from '../context.js';
import { ErrorCodes, NotFoundError } from '../../common/errors.js';
import type { Operation } from './model.js';

/**
 * An operation the caller may act on with `permission`. One of a workspace the caller cannot
 * see answers exactly like one that does not exist, so ids do not leak across workspaces.
 */
export async function visibleOperation(ctx: CoreContext, id: string, access: Access, permission: Permission, what = 'operation'): Promise<Operation> {
  const op = await ctx.store.get(id);
  const notFound = () => new NotFoundError(ErrorCodes.OPERATION_NOT_FOUND, `${what} ${id} does not exist`);
  if (!op) throw notFound();
  access.requireOn(permission, op.workspace, notFound);
  return op;
}
