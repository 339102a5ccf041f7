/**
 * Reads about one server beyond its inventory record: its usage from the provider's monitoring
 * (`/v1/servers/{id}/metrics`) and what touched it (`/v1/servers/{id}/events`). Both are
 * `server_read` reads: a server of a workspace the caller cannot see is a 404.
 */
import type { CoreContext } from '../../core/context.js';
import type { EngineEvent } from '../../core/events/event.js';
import { flattenHistory, serverHistory } from '../../core/servers/history.js';
import { readServerMetrics } from '../../core/servers/metrics.js';
import { getServer } from '../../core/servers/requests.js';
import type { Provider, ProviderName } from '../../common/provider.js';
import type { RouteMounter } from '../route.js';
import { errorRef, pageHeaders } from '../schemas/common.js';
import { serverIdParams } from '../schemas/servers.js';
import { serverEventSchema, serverEventsQuery, serverMetricsQuery, serverMetricsSchema } from '../schemas/server-readings.js';

function eventItem(event: EngineEvent) {
  let changes: unknown;
  try {
    changes = event.changes ? JSON.parse(event.changes) : undefined;
  } catch {
    changes = undefined;
  }
  return {
    id: event.id,
    kind: event.kind,
    at: event.at,
    operation_id: event.operation_id ?? null,
    operation_type: event.operation_type ?? null,
    from: event.from ?? null,
    to: event.to ?? null,
    message: event.message ?? null,
    ...(changes && typeof changes === 'object' ? { changes } : {}),
  };
}

export function serverReadingRoutes(route: RouteMounter, ctx: CoreContext, providers: Map<ProviderName, Provider>): void {
  route({
    method: 'GET', path: '/v1/servers/{id}/metrics', operationId: 'getServerMetrics', tag: 'servers', summary: "A server's usage from its provider's monitoring API",
    description:
      "Asks the provider now, over the range `start`–`end` (default: the last hour). Series use one set of names and units whatever the provider; `unavailable` lists what the provider's API does not offer. Hetzner: CPU, disk and network (from the host; `step` honoured). DigitalOcean: CPU, memory, filesystem and public bandwidth (from its metrics agent, which the engine installs at create). Vultr: bytes in and out per day only. UpCloud: none (501). The reading draws on the provider account's shared request budget at the lowest priority.",
    permission: 'server_read', params: serverIdParams, query: serverMetricsQuery,
    responses: {
      200: { description: 'The series', schema: serverMetricsSchema },
      400: { description: 'A bad range: the field is named', schema: errorRef },
      404: { description: 'No such server', schema: errorRef },
      501: { description: "The server's provider offers no metrics through its API", schema: errorRef },
      503: { description: "The provider is not configured, or the account's request budget is spent for now", schema: errorRef },
    },
    handler: async ({ params, query, access }) => ({ status: 200, body: await readServerMetrics(ctx, providers, params.id, query, access) }),
  });

  route({
    method: 'GET', path: '/v1/servers/{id}/events', operationId: 'listServerEvents', tag: 'servers', summary: 'What touched a server: its operations and drift',
    description:
      'Every operation on the server (create, power actions, resizes, delete) with its events, and every drift the reconcile found, newest first. A page holds up to `limit` operations or drift findings, each operation with all its events; further pages follow the `Link` header (rel="next").',
    permission: 'server_read', params: serverIdParams, query: serverEventsQuery,
    responses: {
      200: { description: 'One page of events, newest first', schema: { type: 'array', items: serverEventSchema } },
      404: { description: 'No such server', schema: errorRef },
    },
    handler: async ({ params, query, access, path }) => {
      const server = await getServer(ctx, params.id, access, 'server_read');
      const page = await serverHistory(ctx, server, query.limit, query.cursor ?? null);
      return { status: 200, body: flattenHistory(page.entries).map(eventItem), headers: pageHeaders(path, page.next) };
    },
  });
}
