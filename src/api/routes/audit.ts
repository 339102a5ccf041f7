import type { AuditLog } from '../../core/audit.js';
import { ErrorCodes, NotFoundError } from '../../common/errors.js';
import type { RouteMounter } from '../route.js';
import { pageHeaders } from '../schemas/common.js';
import { auditEntrySchema, auditQuery } from '../schemas/identity.js';

/** The audit log: global admins read all of it, a workspace's admins that workspace's entries. */
export function auditRoutes(route: RouteMounter, audit: AuditLog): void {
  route({
    method: 'GET', path: '/v1/audit', operationId: 'listAuditEntries', tag: 'audit', summary: 'Audit entries, newest first', permission: 'audit_read', query: auditQuery,
    description: 'Every mutating request and every failed authentication: who, what, from where, with what outcome. Pages follow the `Link` header (rel="next").',
    responses: { 200: { description: 'One page of entries', schema: { type: 'array', items: auditEntrySchema } } },
    handler: async ({ query, access, path }) => {
      const { limit, cursor, ...filter } = query;
      const workspaces = access.workspacesWith('audit_read');
      if (filter.workspace !== undefined && workspaces !== null && !workspaces.includes(filter.workspace)) {
        throw new NotFoundError(ErrorCodes.WORKSPACE_NOT_FOUND, `workspace '${filter.workspace}' does not exist`);
      }
      const page = await audit.list({ ...filter, workspaces }, limit, cursor ?? null);
      return { status: 200, body: page.items, headers: pageHeaders(path, page.next) };
    },
  });
}
