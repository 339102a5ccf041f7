/**
 * `POST /send` (udc-droplet-response-standards.md, multi-cloud-manager-api.md): a UDC message to
 * another droplet of the mesh, delivered by the outbox (signed at each attempt, retried with
 * backoff while the peer is down), and `GET /send/deliveries[/{id}]`, what was sent and how it
 * went. Errors come in the seeds' `{"detail": …}` shape.
 */
import type { Queue } from 'bullmq';
import express from 'express';
import type { CoreContext } from '../../core/context.js';
import { ErrorCodes, NotFoundError } from '../../common/errors.js';
import type { OutboxJobData } from '../../core/outbox/queue.js';
import { DeliveryStore } from '../../core/outbox/store.js';
import { deliveryView } from '../../core/outbox/view.js';
import { sendMessage } from '../../core/udc/send.js';
import { MESSAGE_TYPES } from '../../core/udc/signing.js';
import { detailError as detail, detailRouter } from '../detail-router.js';
import type { OpenApiRegistry } from '../openapi.js';
import { routeMounter, type RouteDeps } from '../route.js';
import { deliveryIdParam, deliveryLimitQuery, deliverySchema, deliveryStatusQuery } from '../schemas/outbox.js';
import type { JsonSchema } from '../validation.js';

// Case-insensitive and with an optional trailing slash, as the router matches routes.
const SEND_PATH = /^\/send(\/deliveries(\/[^/]+)?)?\/?$/i;

const errors = {
  401: { description: 'Could not validate credentials', schema: detail },
  403: { description: 'Not enough permissions (`mesh_send`)', schema: detail },
};

const target: JsonSchema = { type: ['string', 'integer'], maxLength: 128, description: "The peer's id or name (MESH_PEERS)", example: 7 };
const messageType: JsonSchema = { type: 'string', enum: [...MESSAGE_TYPES], description: 'Defaults to `event`' };

const sendBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    target,
    target_droplet_id: { type: 'integer', minimum: 0, description: 'The same as `target` (the multi-cloud manager\'s name for it)' },
    message_type: messageType,
    payload: { type: 'object', description: 'What the peer is told', default: {} },
    priority: { type: 'string', enum: ['low', 'normal', 'high'], default: 'normal' },
    retry_count: { type: 'integer', minimum: 0, maximum: 99, description: 'Retries after the first attempt (at most OUTBOX_ATTEMPTS - 1)' },
  },
};

const sendQuery: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    target: { type: 'string', minLength: 1, maxLength: 128, description: "The registry's style: the target in the query string, the payload in the body" },
    message_type: messageType,
  },
};

const sendReply: JsonSchema = {
  type: 'object',
  required: ['sent', 'target', 'trace_id', 'status', 'delivery_id'],
  properties: {
    sent: { type: 'boolean', description: 'False only when the peer refused the message outright' },
    target: { type: 'integer', description: "The peer's id" },
    trace_id: { type: 'string' },
    status: { type: 'string', enum: ['delivered', 'queued', 'failed'], description: '`delivered` when the first attempt reached the peer within SEND_WAIT_MS; `queued` while the outbox retries' },
    delivery_id: { type: 'string', description: 'Follow it at `GET /send/deliveries/{id}`' },
    error: { type: 'string', description: 'Why the peer refused it (with `failed`)' },
  },
};

export interface SendRouterDeps {
  ctx: CoreContext;
  registry: OpenApiRegistry;
  guards: express.RequestHandler[];
  mount: RouteDeps;
  queue: Queue<OutboxJobData>;
}

export function udcSendRouter(deps: SendRouterDeps): express.Router {
  return detailRouter(SEND_PATH, deps.guards, deps.ctx.logger, (router) => fillSendRouter(router, deps));
}

function fillSendRouter(router: express.Router, deps: SendRouterDeps): void {
  const { ctx, queue } = deps;
  const route = routeMounter(router, deps.registry, deps.mount);
  const deliveries = new DeliveryStore(ctx.redis, ctx.keys);
  const tag = 'udc';

  route({
    method: 'POST', path: '/send', operationId: 'sendMeshMessage', tag, permission: 'mesh_send', summary: 'Send a UDC message to another droplet',
    description:
      'The body names the peer (`target` or `target_droplet_id`, an id or name of MESH_PEERS), `message_type` and `payload`; the registry\'s style, `target` and `message_type` in the query string with the payload in the body, is taken too. ' +
      'The message `{trace_id, source, target, message_type, payload, timestamp}` is signed at each attempt and POSTed to `<peer>/message` with a bearer token; a peer that is down gets it when it comes back (OUTBOX_ATTEMPTS, OUTBOX_BACKOFF_MS). ' +
      'The answer waits up to SEND_WAIT_MS for the first attempt. The same request sent again with the same `X-Trace-Id` is the same delivery.',
    body: sendBody, query: sendQuery, bodyOptional: true,
    responses: {
      200: { description: 'Accepted: delivered already, or queued for the outbox', schema: sendReply },
      404: { description: 'No such peer in MESH_PEERS', schema: detail },
      422: { description: 'Invalid input (`loc` names the field)', schema: detail },
      ...errors,
    },
    handler: async ({ body, query, traceId }) => {
      const d = await sendMessage(
        ctx,
        deliveries,
        queue,
        {
          target: body.target ?? body.target_droplet_id ?? query.target,
          message_type: body.message_type ?? query.message_type ?? 'event',
          payload: body.payload ?? {},
          priority: body.priority ?? 'normal',
          retry_count: body.retry_count,
        },
        traceId,
      );
      const status = d.status === 'delivered' ? 'delivered' : d.status === 'failed' ? 'failed' : 'queued';
      return {
        status: 200,
        body: { sent: status !== 'failed', target: Number(d.target), trace_id: d.trace_id, status, delivery_id: d.id, ...(status === 'failed' && d.last_error ? { error: d.last_error } : {}) },
        audit: { resource_type: 'mesh_message', resource_id: d.id, detail: { target: d.target, message_type: d.message_type, status } },
      };
    },
  });

  route({
    method: 'GET', path: '/send/deliveries', operationId: 'listMeshDeliveries', tag, permission: 'mesh_send', summary: 'Messages sent to other droplets and how each went',
    description: 'Newest first: status (`queued`, `retrying`, `delivered`, `failed`), attempts, the last HTTP status and error.',
    query: { type: 'object', additionalProperties: false, properties: { status: deliveryStatusQuery, limit: deliveryLimitQuery } },
    responses: {
      200: {
        description: 'Deliveries',
        schema: { type: 'object', required: ['deliveries', 'total', 'droplet_id'], properties: { deliveries: { type: 'array', items: deliverySchema }, total: { type: 'integer' }, droplet_id: { type: 'integer' } } },
      },
      422: { description: 'Invalid filter', schema: detail },
      ...errors,
    },
    handler: async ({ query }) => {
      const list = await deliveries.list({ kind: 'mesh', status: query.status, limit: query.limit });
      return { status: 200, body: { deliveries: list.map((d) => deliveryView(d)), total: list.length, droplet_id: ctx.config.droplet.id } };
    },
  });

  route({
    method: 'GET', path: '/send/deliveries/{id}', operationId: 'getMeshDelivery', tag, permission: 'mesh_send', summary: 'One message sent and how it went',
    description: 'With the message as sent (without its signature, which each attempt makes afresh).',
    params: { type: 'object', required: ['id'], properties: { id: deliveryIdParam } },
    responses: { 200: { description: 'The delivery', schema: deliverySchema }, 404: { description: 'No such delivery', schema: detail }, ...errors },
    handler: async ({ params }) => {
      const d = await deliveries.get(params.id);
      if (!d || d.kind !== 'mesh') throw new NotFoundError(ErrorCodes.DELIVERY_NOT_FOUND, `no message delivery '${params.id}'`);
      return { status: 200, body: deliveryView(d, true) };
    },
  });
}
