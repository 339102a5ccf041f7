import type { CoreContext } from '../../core/context.js';
import { ErrorCodes, NotFoundError } from '../../core/errors.js';
import { cancelOperation } from '../../core/operations/cancel.js';
import type { RouteMounter } from '../route.js';
import { errorRef, operationSchema, pageHeaders } from '../schemas/common.js';
import { listOperationsQuery, operationIdParams } from '../schemas/operations.js';

export function operationRoutes(route: RouteMounter, ctx: CoreContext): void {
  route({
    method: 'GET', path: '/v1/operations', tag: 'operations', summary: 'List operations, newest first, with filters',
    permission: 'operation_read', query: listOperationsQuery,
    responses: { 200: { description: 'One page; the next is in the `Link` header (rel="next") and `X-Next-Cursor`', schema: { type: 'array', items: operationSchema } } },
    handler: async ({ query, path }) => {
      const { limit, cursor, ...filters } = query;
      const page = await ctx.store.list(filters, limit, cursor ?? null);
      return { status: 200, body: page.items, headers: pageHeaders(path, page.next) };
    },
  });

  route({
    method: 'GET', path: '/v1/operations/{id}', tag: 'operations', summary: 'One operation',
    permission: 'operation_read', params: operationIdParams,
    responses: { 200: { description: 'The operation', schema: operationSchema }, 404: { description: 'No such operation', schema: errorRef } },
    handler: async ({ params }) => {
      const op = await ctx.store.get(params.id);
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
    handler: async ({ params, user }) => {
      const outcome = await cancelOperation(ctx, params.id, user.username);
      return { status: outcome.cancelled ? 200 : 202, body: outcome.operation };
    },
  });
}
