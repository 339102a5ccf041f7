import { AuditLog } from '../../core/audit.js';
import { catalogFor, type CoreContext } from '../../core/context.js';
import { ErrorCodes, NotFoundError, ValidationError } from '../../common/errors.js';
import { cancelRequested } from '../../core/operations/cancel-request.js';
import { cancelMatching } from '../../core/operations/bulk-cancel.js';
import { retryOperation } from '../../core/operations/retry.js';
import { withActions } from '../../core/operations/actions.js';
import type { RouteMounter } from '../route.js';
import { acceptedReply } from '../accepted.js';
import { errorRef, operationSchema, pageHeaders } from '../schemas/common.js';
import {
  bulkCancelBody,
  bulkCancelReply,
  cancelOperationBody,
  getOperationQuery,
  listOperationsQuery,
  operationEventsQuery,
  operationIdParams,
  operationLogsQuery,
} from '../schemas/operations.js';
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
  const served = <T extends Parameters<typeof withActions>[0]>(op: T) => withActions(op, ctx.config);
  // One entry per operation a bulk cancel touches, beside the request's own entry.
  const audit = new AuditLog(ctx.redis, ctx.keys, ctx.config.auth.auditRetentionSeconds);

  route({
    method: 'GET', path: '/v1/operations', operationId: 'listOperations', tag: 'operations', summary: 'List operations, newest first, with filters',
    description:
      'Operations of the workspaces you may read, newest first. Each carries `actions`: what may be done with it now (cancel, force_cancel, retry). ' +
      'A page reads at most OPERATIONS_LIST_SCAN_BUDGET stored operations, so under a filter few match it may hold fewer than `limit` items, even none, and still have a next page: follow the `Link` until there is none.',
    permission: 'operation_read', query: listOperationsQuery,
    responses: { 200: { description: 'One page; the next is in the `Link` header (rel="next") and `X-Next-Cursor`', schema: { type: 'array', items: operationSchema } } },
    handler: async ({ query, path, access }) => {
      const { limit, cursor, ...filters } = query;
      const page = await ctx.store.list({ ...filters, workspaces: access.workspacesWith('operation_read') }, limit, cursor ?? null);
      const now = Date.now();
      return { status: 200, body: page.items.map((op) => withActions(op, ctx.config, now)), headers: pageHeaders(path, page.next) };
    },
  });

  // Declared before `/v1/operations/{id}/…`; the paths differ in length, so neither can take the other's requests.
  route({
    method: 'POST', path: '/v1/operations/cancel', operationId: 'cancelOperations', tag: 'operations', summary: 'Cancel every open operation matching a filter',
    description:
      'Cancels the pending and running operations that match, in the workspaces where you hold `operation_cancel`, each as `POST /v1/operations/{id}/cancel` would ' +
      '(pending ones at once, running ones by asking their workers), and records one audit entry per operation. `dry_run: true` only counts. ' +
      'At most 1000 operations per request, oldest first; `truncated: true` says more matched.',
    permission: 'operation_cancel', body: bulkCancelBody,
    responses: { 200: { description: 'What was matched, cancelled, requested and skipped (and why)', schema: bulkCancelReply } },
    handler: async ({ body, access, identity, ip, traceId, actor }) => {
      const report = await cancelMatching(
        ctx,
        access,
        body,
        {
          username: actor.username,
          actor: { actor: identity.username, actor_kind: identity.kind, ...(identity.keyId ? { key_id: identity.keyId } : {}) },
          ip,
          traceId,
          action: 'POST /v1/operations/cancel',
        },
        audit,
      );
      return { status: 200, body: report, audit: { resource_type: 'operation', detail: { dry_run: report.dry_run, matched: report.matched, cancelled: report.cancelled.length, requested: report.requested.length, skipped: report.skipped.length, truncated: report.truncated } } };
    },
  });

  route({
    method: 'GET', path: '/v1/operations/{id}', operationId: 'getOperation', tag: 'operations', summary: 'One operation; with ?wait=30s, once it has finished or the time ran out',
    description: 'The operation as it stands, with `actions`. With `wait`, answers as soon as it finishes or when the time runs out, whichever is first.',
    permission: 'operation_read', params: operationIdParams, query: getOperationQuery,
    responses: { 200: { description: 'The operation', schema: operationSchema }, 404: { description: 'No such operation', schema: errorRef } },
    handler: async ({ params, query, access }) => {
      const wait = waitMs(query.wait);
      const seen = await visibleOperation(ctx, params.id, access, 'operation_read');
      const op = wait > 0 ? await waitForOperation(ctx, hub, params.id, wait) : seen;
      if (!op) throw new NotFoundError(ErrorCodes.OPERATION_NOT_FOUND, `operation ${params.id} does not exist`);
      return { status: 200, body: served(op) };
    },
  });

  route({
    method: 'POST', path: '/v1/operations/{id}/cancel', operationId: 'cancelOperation', tag: 'operations', summary: 'Cancel an operation',
    description:
      'A pending operation is cancelled at once (200). A running one is asked to stop (202): its worker aborts, cleans up and ends it `cancelled`. ' +
      'With `{"force": true}`, once a normal cancel has had `FORCE_CANCEL_GRACE_MS` (`actions.force_cancel`), a running operation is ended `cancelled` at once (200), ' +
      'its result listing what may remain at the provider (`may_remain`, each with the marker to find it by); a workflow is forced with its running steps. ' +
      'Forcing earlier answers 409 `FORCE_CANCEL_NOT_YET` with `details.allowed_at`.',
    permission: 'operation_cancel', params: operationIdParams, body: cancelOperationBody, bodyOptional: true,
    responses: {
      200: { description: 'Cancelled (it had not started, or it was forced)', schema: operationSchema },
      202: { description: 'Running: cancellation requested; the worker aborts, cleans up and ends it `cancelled`', schema: operationSchema },
      404: { description: 'No such operation', schema: errorRef },
      409: { description: 'Already finished (`OPERATION_FINISHED`, `details.status` says how); or forced too early (`FORCE_CANCEL_NOT_YET`, `details.allowed_at` says when it may be)', schema: errorRef },
    },
    handler: async ({ params, body, access, actor }) => {
      const force = body.force === true;
      const outcome = await cancelRequested(ctx, params.id, access, actor.username, { force });
      return { status: outcome.cancelled ? 200 : 202, body: served(outcome.operation), ...(force ? { audit: { detail: { force: true } } } : {}) };
    },
  });

  route({
    method: 'POST', path: '/v1/operations/{id}/retry', operationId: 'retryOperation', tag: 'operations', summary: 'Retry a failed or cancelled operation as a new one',
    description:
      'Submits the original request again (same type, request, workspace and provider) through the same checks as a new request: permissions, quotas, the catalogue, `Idempotency-Key`. ' +
      "Answers 202 with the new operation, whose `retry_of` names the original; the original's `retried_by` names the new one. A workflow is retried by submitting it again. " +
      'Refused with 409: `OPERATION_NOT_RETRYABLE` (not failed or cancelled, a workflow step, or its worker is still letting go), `OPERATION_ALREADY_RETRIED` (`details.retried_by`), ' +
      '`RETRY_INPUTS_GONE` (it was given a secret input such as `user_data`, which the engine drops once an operation ends).',
    permission: 'operation_read', params: operationIdParams,
    responses: {
      202: { description: 'Accepted: the new operation, pending', schema: operationSchema },
      404: { description: 'No such operation', schema: errorRef },
      409: { description: 'It cannot be retried; `error` says why', schema: errorRef },
    },
    handler: async ({ params, actor }) => {
      const op = await retryOperation(ctx, params.id, actor, catalogFor(ctx, []));
      return { ...acceptedReply(op, ctx.config), audit: { resource_type: 'operation', resource_id: params.id, workspace: op.workspace, detail: { retried_by: op.id } } };
    },
  });

  route({
    method: 'GET', path: '/v1/operations/{id}/events', operationId: 'streamOperationEvents', tag: 'operations', summary: "Server-sent events of one operation: its history, then live until it finishes",
    description: 'A `text/event-stream` of its state changes, progress and cancel requests; it ends after the final state. Resume with `Last-Event-ID`. Once it has finished its history keeps its state changes and cancel requests; its progress notes stay in its log (`/logs`).',
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
    method: 'GET', path: '/v1/operations/{id}/logs', operationId: 'getOperationLogs', tag: 'operations', summary: "The operation's log: the engine's steps and, for task services, every line the servers printed",
    description: 'Read it in pages: `from` is the `next` of the previous read.',
    permission: 'operation_read', params: operationIdParams, query: operationLogsQuery,
    responses: { 200: { description: '{operation_id, entries: [{index, at, source, stream, line}], next, total}' }, 404: { description: 'No such operation', schema: errorRef } },
    handler: async ({ params, query, access }) => {
      await visibleOperation(ctx, params.id, access, 'operation_read');
      const page = await new OperationLog(ctx.redis, ctx.keys, params.id).read(query.from, query.limit);
      return { status: 200, body: { operation_id: params.id, ...page } };
    },
  });
}
