/**
 * What a mesh message (`POST /message`) asks of this engine, carried out with the sender's
 * access: a `query` reads, a `command` submits an engine operation through the same services
 * the `/v1` routes call (so quotas, workspaces and permissions hold alike), an `event` or a
 * `response` is recorded. The payload has been validated against its action's schema already.
 */
import type { Actor } from '../operations/submit.js';
import type { Catalog } from '../catalog.js';
import type { CoreContext } from '../context.js';
import type { Operation } from '../operations/model.js';
import { operationsPerStatus } from '../operations/counts.js';
import { visibleOperation } from '../operations/visible.js';
import { requestServerAction, requestServerCreate, requestServerDelete, type CreateServerRequest } from '../servers/requests.js';
import type { PowerAction } from '../../common/provider.js';
import type { UdcMessage } from './signing.js';

export const QUERY_ACTIONS = ['status', 'get_operation', 'list_resources'] as const;
export const COMMAND_ACTIONS = ['list_resources', 'create_server', 'delete_server', 'power_action'] as const;

/** How many received events and responses are kept for reading back. */
const INBOX_CAP = 1000;
const LIST_LIMIT_DEFAULT = 100;
const MAX_KEPT_BYTES = 16 * 1024;

/** What an operation a command made looks like in the answer's `data`. */
export function operationData(op: Operation): Record<string, unknown> {
  return { operation_id: op.id, operation_type: op.type, operation_status: op.status, trace_id: op.trace_id, workspace: op.workspace, provider: op.provider };
}

export interface MessageActionDeps {
  ctx: CoreContext;
  version: string;
  /** Creates are checked against the cached catalogue, as `/v1/servers/create` does. */
  catalogue?: Catalog;
}

/** Carries out a query or a command; returns the answer's `data`. Engine errors (not found, forbidden, …) propagate. */
export async function runMessageAction(deps: MessageActionDeps, message: UdcMessage, actor: Actor): Promise<Record<string, unknown>> {
  const { ctx } = deps;
  const p = message.payload as Record<string, any>;
  switch (p.action as string) {
    case 'status':
      return engineStatus(deps);
    case 'get_operation':
      return { operation: await visibleOperation(ctx, p.operation_id as string, actor.access, 'operation_read') };
    case 'list_resources': {
      const page = await ctx.inventory.list(p.limit ?? LIST_LIMIT_DEFAULT, null, { workspace: p.workspace, provider: p.provider, workspaces: actor.access.workspacesWith('server_read') });
      return { resources: page.items, count: page.items.length, truncated: page.next !== null };
    }
    case 'create_server': {
      const { action: _action, ...request } = p;
      const op = await requestServerCreate(ctx, request as CreateServerRequest, actor, { catalogue: deps.catalogue });
      return operationData(op);
    }
    case 'delete_server':
      return operationData(await requestServerDelete(ctx, p.server_id as string, { force: p.force ?? false }, actor));
    case 'power_action':
      return operationData(await requestServerAction(ctx, p.server_id as string, p.type as PowerAction, actor));
    default:
      // The route's schema admits only the actions above.
      throw new Error(`unknown message action '${String(p.action)}'`);
  }
}

async function engineStatus(deps: MessageActionDeps): Promise<Record<string, unknown>> {
  const { ctx } = deps;
  const operations = await operationsPerStatus(ctx.redis, ctx.keys);
  const d = ctx.config.droplet;
  return {
    droplet_id: d.id,
    name: d.name,
    version: deps.version,
    state: 'active',
    operations,
  };
}

/**
 * Keeps an `event` or `response` (newest first, capped) and logs it with its trace id. A
 * response names, by its trace id, a message this droplet sent; it is recorded here where
 * whoever sent the message can find it.
 */
export async function recordMessage(ctx: CoreContext, message: UdcMessage, receivedAt: string): Promise<void> {
  const { signature: _signature, ...kept } = message;
  let entry = JSON.stringify({ ...kept, received_at: receivedAt });
  // A large payload is noted, not kept whole: a capped list of big entries would still be big.
  if (entry.length > MAX_KEPT_BYTES) entry = JSON.stringify({ ...kept, payload: { truncated: true, bytes: entry.length }, received_at: receivedAt });
  await ctx.redis.multi().lpush(ctx.keys.meshInbox(), entry).ltrim(ctx.keys.meshInbox(), 0, INBOX_CAP - 1).exec();
  ctx.logger.info(message.message_type === 'response' ? 'mesh response received' : 'mesh event received', {
    trace_id: message.trace_id,
    source: String(message.source),
    action: typeof message.payload.action === 'string' ? message.payload.action.slice(0, 64) : undefined,
  });
}
