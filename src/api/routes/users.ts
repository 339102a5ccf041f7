import type { ApiKeyStore } from '../../core/auth/api-keys.js';
import type { UserDirectory } from '../../core/auth/users.js';
import type { Role } from '../../core/config.js';
import { EngineError, ErrorCodes, NotFoundError } from '../../common/errors.js';
import type { RouteMounter } from '../route.js';
import { errorRef } from '../schemas/common.js';
import { changeUserBody, createUserBody, resetPasswordBody, userSchema, usernameParams } from '../schemas/identity.js';

/** `["a","b"]` gives each the user's role; `{a: "viewer"}` says it per workspace. */
function memberships(raw: string[] | Record<string, Role> | undefined, role: Role): Record<string, Role> | undefined {
  if (raw === undefined) return undefined;
  return Array.isArray(raw) ? Object.fromEntries(raw.map((name) => [name, role])) : raw;
}

const notFound = (username: string) => new NotFoundError(ErrorCodes.USER_NOT_FOUND, `user '${username}' does not exist`);

/** Users through the API, by global admins; their changes take effect on the user's next request. */
export function userRoutes(route: RouteMounter, users: UserDirectory, apiKeys: ApiKeyStore): void {
  const userAudit = (username: string) => ({ resource_type: 'user', resource_id: username });

  route({
    method: 'GET', path: '/v1/users', operationId: 'listUsers', tag: 'users', summary: 'List users', permission: 'user_manage',
    description: 'Every user with its role, workspace memberships and whether it is disabled; never a password.',
    responses: { 200: { description: 'Every user', schema: { type: 'array', items: userSchema } } },
    handler: async () => ({ status: 200, body: await users.list() }),
  });

  route({
    method: 'POST', path: '/v1/users', operationId: 'createUser', tag: 'users', summary: 'Create a user', permission: 'user_manage',
    description: "A role and the workspaces it is a member of: a list gives the user's role in each, an object names a role per workspace.",
    body: createUserBody,
    responses: { 201: { description: 'The user', schema: userSchema }, 409: { description: 'The name is taken', schema: errorRef } },
    handler: async ({ body }) => {
      const user = await users.create(body.username, body.password, body.role, memberships(body.workspaces, body.role) ?? {});
      return { status: 201, body: user, headers: { Location: `/v1/users/${user.username}` }, audit: userAudit(user.username) };
    },
  });

  route({
    method: 'GET', path: '/v1/users/{username}', operationId: 'getUser', tag: 'users', summary: 'One user', permission: 'user_manage', params: usernameParams,
    description: "The user's role, workspace memberships and whether it is disabled.",
    responses: { 200: { description: 'The user', schema: userSchema }, 404: { description: 'No such user', schema: errorRef } },
    handler: async ({ params }) => ({ status: 200, body: await users.require(params.username) }),
  });

  route({
    method: 'PATCH', path: '/v1/users/{username}', operationId: 'updateUser', tag: 'users', summary: "Change a user's role, workspaces, or disable it", permission: 'user_manage',
    description: "Takes effect on the user's next request. An admin cannot disable or demote itself.",
    params: usernameParams, body: changeUserBody,
    responses: { 200: { description: 'The user', schema: userSchema }, 404: { description: 'No such user', schema: errorRef } },
    handler: async ({ params, body, identity }) => {
      if (params.username === identity.username && (body.disabled === true || (body.role !== undefined && body.role !== 'admin'))) {
        throw new EngineError(ErrorCodes.CONFLICT, 'an admin cannot disable or demote itself; ask another admin');
      }
      const current = await users.require(params.username);
      const role = body.role ?? current.role;
      // A new role without workspaces is the user's role in each workspace it is in.
      const workspaces = memberships(body.workspaces, role) ?? (body.role !== undefined ? memberships(Object.keys(current.workspaces), role) : undefined);
      const user = await users.change(params.username, { role: body.role, workspaces, disabled: body.disabled });
      return { status: 200, body: user, audit: { ...userAudit(user.username), detail: { changed: Object.keys(body) } } };
    },
  });

  route({
    method: 'DELETE', path: '/v1/users/{username}', operationId: 'deleteUser', tag: 'users', summary: 'Delete a user and its API keys', permission: 'user_manage',
    description: 'Its API keys go with it. An admin cannot delete itself.',
    params: usernameParams,
    responses: { 204: { description: 'Deleted' }, 404: { description: 'No such user', schema: errorRef } },
    handler: async ({ params, identity }) => {
      if (params.username === identity.username) throw new EngineError(ErrorCodes.CONFLICT, 'an admin cannot delete itself; ask another admin');
      if (!(await users.remove(params.username))) throw notFound(params.username);
      await apiKeys.deleteAllOf(params.username);
      return { status: 204, body: null, audit: userAudit(params.username) };
    },
  });

  route({
    method: 'POST', path: '/v1/users/{username}/password', operationId: 'resetUserPassword', tag: 'users', summary: "Reset a user's password (ends its sessions)", permission: 'user_manage',
    description: 'Sets a new password for another user; every session it had ends.',
    params: usernameParams, body: resetPasswordBody,
    responses: { 204: { description: 'Reset' }, 404: { description: 'No such user', schema: errorRef } },
    handler: async ({ params, body }) => {
      await users.setPassword(params.username, body.new_password);
      return { status: 204, body: null, audit: userAudit(params.username) };
    },
  });
}
