import { PERMISSIONS_BY_ROLE, GLOBAL_ONLY, type Permission } from '../../core/auth/permissions.js';
import type { RouteMounter } from '../route.js';

const ALL_PERMISSIONS = [...new Set<Permission>([...PERMISSIONS_BY_ROLE.admin, ...GLOBAL_ONLY])].sort();

export function meRoutes(route: RouteMounter): void {
  route({
    method: 'GET', path: '/v1/auth/me', tag: 'auth', operationId: 'getCurrentIdentity',
    summary: 'Who the credential sent belongs to, and what it may do where',
    description:
      'The caller as this request sees it: a user, an API key (acting for its user) or an external subject; whether it is a global admin; ' +
      'its role in each workspace it is a member of; and the permissions it holds (`global`: those it holds everywhere, a global admin\'s all of them; `workspaces`: per workspace). ' +
      'Clients use it to offer only what the caller may do.',
    responses: {
      200: {
        description: 'The identity',
        schema: {
          type: 'object',
          properties: {
            kind: { type: 'string', enum: ['user', 'api_key', 'external'] },
            username: { type: 'string' },
            key_id: { type: ['string', 'null'] },
            admin: { type: 'boolean' },
            workspaces: { type: 'object', additionalProperties: { type: 'string' }, description: 'Workspace → role (empty for a global admin, who is a member of every workspace)' },
            permissions: {
              type: 'object',
              properties: {
                global: { type: 'array', items: { type: 'string' } },
                workspaces: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
              },
            },
          },
        },
      },
    },
    handler: async ({ identity }) => {
      const workspaces = Object.fromEntries(Object.entries(identity.workspaces).filter(([name]) => Object.hasOwn(identity.workspaces, name)));
      const perWorkspace = Object.fromEntries(Object.entries(workspaces).map(([name, role]) => [name, [...(PERMISSIONS_BY_ROLE[role] ?? [])].sort()]));
      return {
        status: 200,
        body: {
          kind: identity.kind,
          username: identity.username,
          key_id: identity.keyId ?? null,
          admin: identity.admin,
          workspaces: identity.admin ? {} : workspaces,
          permissions: { global: identity.admin ? ALL_PERMISSIONS : [], workspaces: identity.admin ? {} : perWorkspace },
        },
      };
    },
  });
}
