import type { Request } from 'express';
import { AuthenticationFailed } from '../core/auth/authenticate.js';
import type { Identity } from '../core/auth/identity.js';
import type { AuditEntryInput, AuditLog } from '../core/audit.js';
import { EngineError } from '../common/errors.js';
import type { Logger } from '../core/logger.js';

export interface AuditDeps {
  log: AuditLog;
  logger: Logger;
}

/** What a route tells the audit log about the resource it touched, when its answer does not say. */
export interface AuditNote {
  resource_type?: string;
  resource_id?: string;
  workspace?: string;
  detail?: Record<string, unknown>;
}

interface Audited {
  spec: { method: string; path: string; tag: string };
  req: Request;
  ip: string;
  traceId: string;
  /** Null when authentication itself failed. */
  identity: Identity | null;
  reply?: { status: number; body?: unknown; audit?: AuditNote };
  failure?: unknown;
}

/** What a route family's `{id}` names. */
const RESOURCE_BY_TAG: Record<string, string> = {
  servers: 'server',
  'multi-cloud': 'server',
  operations: 'operation',
  workflows: 'workflow',
  taskservs: 'taskserv',
  users: 'user',
  workspaces: 'workspace',
  'api-keys': 'api_key',
};

/**
 * The resource a request touched: what the route says, else the path's id (the server of an
 * action, with the operation it made in `detail`), else the operation it made. The workspace
 * comes from that operation, or from the request body when the request was refused.
 */
function resourceOf(a: Audited): AuditNote {
  const note = a.reply?.audit ?? {};
  const body = a.reply?.body as { id?: unknown; workspace?: unknown; type?: unknown } | undefined;
  const op = body && typeof body.id === 'string' && typeof body.workspace === 'string' && typeof body.type === 'string' ? { id: body.id, workspace: body.workspace } : null;
  const params = a.req.params as Record<string, string | undefined>;
  const pathId = params.id ?? params.name ?? params.username;
  const sent = (a.req.body as { workspace?: unknown } | undefined)?.workspace;
  const workspace = note.workspace ?? op?.workspace ?? (typeof sent === 'string' && sent.length <= 63 ? sent : undefined);
  const resource =
    note.resource_id !== undefined
      ? { resource_type: note.resource_type, resource_id: note.resource_id }
      : pathId !== undefined
        ? { resource_type: RESOURCE_BY_TAG[a.spec.tag] ?? a.spec.tag, resource_id: pathId.slice(0, 128) }
        : op
          ? { resource_type: 'operation', resource_id: op.id }
          : {};
  const detail = op && resource.resource_id !== op.id ? { ...note.detail, operation_id: op.id } : note.detail;
  return { ...resource, ...(workspace !== undefined ? { workspace } : {}), ...(detail ? { detail } : {}) };
}

function who(a: Audited): Pick<AuditEntryInput, 'actor' | 'actor_kind' | 'key_id'> {
  if (a.identity && a.identity.username !== 'anonymous') return { actor: a.identity.username, actor_kind: a.identity.kind, ...(a.identity.keyId ? { key_id: a.identity.keyId } : {}) };
  if (a.failure instanceof AuthenticationFailed) {
    const c = a.failure.claimed;
    return { actor: c.name, actor_kind: c.kind, ...(c.keyId ? { key_id: c.keyId } : {}) };
  }
  // A login names who it claims to be; the password is never read here.
  const claimed = (a.req.body as { username?: unknown } | undefined)?.username;
  return { actor: typeof claimed === 'string' ? claimed.slice(0, 64) : 'anonymous', actor_kind: 'anonymous' };
}

/**
 * One entry per audited request: who, what, which resource and workspace, the result, from
 * where, under which trace. A failure to write it is logged and never changes the answer.
 */
export async function auditRequest(deps: AuditDeps, a: Audited): Promise<void> {
  const status = a.reply?.status ?? (a.failure instanceof EngineError ? a.failure.httpStatus : 500);
  const result: AuditEntryInput['result'] = status < 400 ? 'success' : status === 401 || status === 403 ? 'denied' : 'failed';
  // The request's own credentials were refused (not a refresh or login it carried).
  const failedAuth = a.identity === null;
  const resource = resourceOf(a);
  try {
    await deps.log.append({
      ...who(a),
      action: failedAuth ? `auth.failed ${a.spec.method} ${a.spec.path}` : `${a.spec.method} ${a.spec.path}`,
      ...resource,
      result,
      status,
      ip: a.ip,
      trace_id: a.traceId,
      ...(a.failure instanceof EngineError ? { detail: { ...resource.detail, error: a.failure.code, message: a.failure.message } } : {}),
    });
  } catch (err) {
    deps.logger.warn('audit entry not written', { trace_id: a.traceId, error: (err as Error).message });
  }
}
