/**
 * The UDC v1.0 droplet's history endpoints (multi-cloud-manager-api.md): `GET /logs`, the
 * newest structured log records of every API and worker process, and `GET /events`, the
 * engine's event stream as UDC events. Both are about the whole engine (every workspace), so
 * they need `system_metrics`, which only global admins hold; errors come in the seeds'
 * `{"detail": …}` shape.
 */
import type express from 'express';
import type { CoreContext } from '../../core/context.js';
import { ValidationError } from '../../common/errors.js';
import { recentEvents, UDC_EVENT_TYPES, type UdcEventType } from '../../core/udc/event-history.js';
import { LOG_LEVEL_FILTERS, parseLevelFilter, recentLogs } from '../../core/udc/log-history.js';
import { detailError as detail, detailRouter } from '../detail-router.js';
import type { OpenApiRegistry } from '../openapi.js';
import { routeMounter, type RouteDeps } from '../route.js';
import type { JsonSchema } from '../validation.js';

// Case-insensitive and with an optional trailing slash, as the router matches routes.
const PATHS = /^\/(logs|events)\/?$/i;

const errors = {
  401: { description: 'Could not validate credentials: no valid bearer token or API key', schema: detail },
  403: { description: 'Not enough permissions: `system_metrics` is needed', schema: detail },
  422: { description: 'A query parameter is invalid; `loc` names it (e.g. `["query", "level"]`)', schema: detail },
};

const nullableString: JsonSchema = { type: ['string', 'null'] };

const logsSchema: JsonSchema = {
  type: 'object',
  required: ['logs', 'total', 'droplet_id'],
  properties: {
    logs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['timestamp', 'level', 'message', 'droplet_id', 'trace_id'],
        properties: {
          timestamp: { type: 'string', format: 'date-time' },
          level: { type: 'string', enum: ['DEBUG', 'INFO', 'WARNING', 'ERROR'] },
          message: { type: 'string' },
          droplet_id: { type: 'integer' },
          trace_id: { ...nullableString, description: 'The trace of the request or operation the record is about, when it is about one' },
          service: { type: 'string', description: 'The process that wrote it: `api`, or the worker name' },
          operation_id: { type: 'string' },
          workspace: { type: 'string' },
        },
        additionalProperties: true,
      },
    },
    total: { type: 'integer', description: 'How many records this answer holds' },
    droplet_id: { type: 'integer' },
  },
};

const eventsSchema: JsonSchema = {
  type: 'object',
  required: ['events', 'total', 'droplet_id'],
  properties: {
    events: {
      type: 'array',
      items: {
        type: 'object',
        required: ['event_id', 'event_type', 'timestamp', 'droplet_id', 'trace_id', 'details'],
        properties: {
          event_id: { type: 'string', description: '`evt_` and the event stream id' },
          event_type: { type: 'string', enum: [...UDC_EVENT_TYPES] },
          timestamp: { type: 'string', format: 'date-time' },
          droplet_id: { type: 'integer' },
          trace_id: nullableString,
          details: {
            type: 'object',
            properties: {
              provider: nullableString,
              resource_id: { ...nullableString, description: "The engine's server id the event is about, when there is one" },
              provider_id: { type: 'string', description: "The provider's own id of the server" },
              operation_id: nullableString,
              operation_type: nullableString,
              workspace: nullableString,
              status: { type: 'string' },
              message: { type: 'string' },
            },
          },
        },
      },
    },
    total: { type: 'integer', description: 'How many events this answer holds' },
    droplet_id: { type: 'integer' },
  },
};

export interface UdcLogsRouterDeps {
  ctx: CoreContext;
  registry: OpenApiRegistry;
  /** The request guards every router runs first (path parameters, JSON body). */
  guards: express.RequestHandler[];
  mount: RouteDeps;
}

export function udcLogsRouter(deps: UdcLogsRouterDeps): express.Router {
  return detailRouter(PATHS, deps.guards, deps.ctx.logger, (router) => fill(router, deps));
}

function fill(router: express.Router, deps: UdcLogsRouterDeps): void {
  const { ctx } = deps;
  const route = routeMounter(router, deps.registry, deps.mount);
  const dropletId = ctx.config.droplet.id;

  route({
    method: 'GET', path: '/logs', operationId: 'getLogs', tag: 'udc', summary: 'The newest structured log records of every engine process',
    description: `The records the API and worker processes wrote as JSON log lines, newest first: the last UDC_LOG_ENTRIES of them are kept. \`level\` keeps that level and those above it (${LOG_LEVEL_FILTERS.join(' < ')}; any case).`,
    permission: 'system_metrics',
    query: {
      type: 'object',
      additionalProperties: false,
      properties: {
        limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'How many records at most' },
        level: { type: 'string', maxLength: 16, example: 'WARNING', description: `${LOG_LEVEL_FILTERS.join(', ')} (any case): that level and above` },
      },
    },
    responses: { 200: { description: 'Log records', schema: logsSchema }, ...errors },
    handler: async ({ query }) => {
      const level = query.level === undefined ? null : parseLevelFilter(String(query.level));
      if (query.level !== undefined && level === null) {
        throw new ValidationError([{ field: 'query.level', problem: `must be one of ${LOG_LEVEL_FILTERS.join(', ')} (any case), got '${String(query.level).slice(0, 16)}'` }]);
      }
      const logs = await recentLogs(ctx.redis, ctx.keys, query.limit as number, level);
      return { status: 200, body: { logs, total: logs.length, droplet_id: dropletId } };
    },
  });

  route({
    method: 'GET', path: '/events', operationId: 'getEventHistory', tag: 'udc', summary: "The droplet's event history, newest first",
    description: 'Operations accepted, started and finished (a create that completed is `cloud_resource_created`, a delete `cloud_resource_deleted`, a power action `power_action_completed`), failures, cancels, workflows finished and inventory drift, from the engine\'s event stream. Looks back over the newest 20000 stream entries at most.',
    permission: 'system_metrics',
    query: {
      type: 'object',
      additionalProperties: false,
      properties: {
        limit: { type: 'integer', minimum: 1, maximum: 500, default: 50, description: 'How many events at most' },
        event_type: { type: 'string', enum: [...UDC_EVENT_TYPES], description: 'Only events of this type' },
      },
    },
    responses: { 200: { description: 'Events', schema: eventsSchema }, ...errors },
    handler: async ({ query }) => {
      const events = await recentEvents(ctx.redis, ctx.keys, dropletId, query.limit as number, (query.event_type as UdcEventType | undefined) ?? null);
      return { status: 200, body: { events, total: events.length, droplet_id: dropletId } };
    },
  });
}
