import type { CoreContext } from '../../core/context.js';
import { ErrorCodes, NotFoundError, ValidationError } from '../../core/errors.js';
import { cancelRequested } from '../../core/operations/cancel-request.js';
import type { RouteMounter } from '../route.js';
import { errorRef, operationSchema, pageHeaders } from '../schemas/common.js';
import { getOperationQuery, listOperationsQuery, operationEventsQuery, operationIdParams, operationLogsQuery } from '../schemas/operations.js';
import { OperationLog } from '../../core/operations/log.js';
import { operationHistory, type EventHub } from '../../core/events/hub.js';
import { waitForOperation } from '../../core/operations/wait.js';
import { isTerminal, type OperationStatus } from '../../core/operations/model.js';
import { streamEvents } from '../sse.js';
import { lastEventId } from './events.js';
import { visibleOperation } from '../../core/operations/visible.js';

const MAX_WAIT_MS = 60000;

/** `30s`, `500ms` or `30` (seconds) as milliseconds; more than MAX_WAIT_MS is refused. */
function waitMs(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const [, amount, unit] = /^(\d+)(ms|s)?$/.exec(raw)!;
  const ms = Number(amount) * (unit === 'ms' ? 1 : 1000);
  if (ms > MAX_WAIT_MS) throw new ValidationError([{ field: 'query.wait', problem: `must be at most ${MAX_WAIT_MS / 1000}s` }]);
  return ms;
}

export function operationRoutes(route: RouteMounter, ctx: CoreContext, hub: EventHub): void {
  route({
    method: 'GET', path: '/v1/operations', tag: 'operations', summary: 'List operations, newest first, with filters',
    permission: 'operation_read', query: listOperationsQuery,
    responses: { 200: { description: 'One page; the next is in the `Link` header (rel="next") and `X-Next-Cursor`', schema: { type: 'array', items: operationSchema } } },
    handler: async ({ query, path, access }) => {
      const { limit, cursor, ...filters } = query;
      const page = await ctx.store.list({ ...filters, workspaces: access.workspacesWith('operation_read') }, limit, cursor ?? null);
      return { status: 200, body: page.items, headers: pageHeaders(path, page.next) };
    },
  });

  route({
    method: 'GET', path: '/v1/operations/{id}', tag: 'operations', summary: 'One operation; with ?wait=30s, once it has finished or the time ran out',
    permission: 'operation_read', params: operationIdParams, query: getOperationQuery,
    responses: { 200: { description: 'The operation', schema: operationSchema }, 404: { description: 'No such operation', schema: errorRef } },
    handler: async ({ params, query, access }) => {
      const wait = waitMs(query.wait);
      const seen = await visibleOperation(ctx, params.id, access, 'operation_read');
      const op = wait > 0 ? await waitForOperation(ctx, hub, params.id, wait) : seen;
      if (!op) throw new NotFoundError(ErrorCodes.OPERATION_NOT_FOUND, `operation ${params.id} does not exist`);
      return { status: 200, body: op };
    },
  });

  route({
    method: 'POST', path: '/v1/operations/{id}/cancel', tag: 'operations', summary: 'Cancel an operation',
    permission: 'operation_cancel', params: operationIdParams,
    responses: {
      200: { description: 'Cancelled (it had not started)', schema: operationSchema },
      202: { description: 'Running: cancellation requested; the worker aborts, cleans up and ends it `cancelled`', schema: operationSchema },
      404: { description: 'No such operation', schema: errorRef },
      409: { description: 'Already finished; `details.status` says how', schema: errorRef },
    },
    handler: async ({ params, access, actor }) => {
      const outcome = await cancelRequested(ctx, params.id, access, actor.username);
      return { status: outcome.cancelled ? 200 : 202, body: outcome.operation };
    },
  });

  route({
    method: 'GET', path: '/v1/operations/{id}/events', tag: 'operations', summary: "Server-sent events of one operation: its history, then live until it finishes",
    permission: 'operation_read', params: operationIdParams, query: operationEventsQuery,
    responses: { 200: { description: 'text/event-stream; `id` is the stream id (resume with Last-Event-ID), `event` the kind, `data` the event' }, 404: { description: 'No such operation', schema: errorRef } },
    handler: async ({ params, query, headers, access }) => {
      const after = lastEventId(headers['last-event-id'], query.last_event_id);
      await visibleOperation(ctx, params.id, access, 'operation_read');
      return {
        stream: (req, res) =>
          streamEvents(req, res, hub, {
            after,
            history: () => operationHistory(ctx.redis, ctx.keys, params.id, after ?? undefined),
            matches: (e) => e.operation_id === params.id,
            endsWith: (e) => e.kind === 'state' && isTerminal(e.to as OperationStatus),
          }),
      };
    },
  });

  route({
    method: 'GET', path: '/v1/operations/{id}/logs', tag: 'operations', summary: "The operation's log: the engine's steps and, for task services, every line the servers printed",
    permission: 'operation_read', params: operationIdParams, query: operationLogsQuery,
    responses: { 200: { description: '{operation_id, entries: [{index, at, source, stream, line}], next, total}' }, 404: { description: 'No such operation', schema: errorRef } },
    handler: async ({ params, query, access }) => {
      await visibleOperation(ctx, params.id, access, 'operation_read');
      const page = await new OperationLog(ctx.redis, ctx.keys, params.id).read(query.from, query.limit);
      return { status: 200, body: { operation_id: params.id, ...page } };
    },
  });
}
