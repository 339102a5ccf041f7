import type { Queue } from 'bullmq';
import type { CoreContext } from '../../core/context.js';
import type { OutboxJobData } from '../../core/outbox/queue.js';
import { deliveryView } from '../../core/outbox/view.js';
import { WebhookService } from '../../core/webhooks/service.js';
import type { RouteMounter } from '../route.js';
import { errorRef } from '../schemas/common.js';
import { deliveryIdParam, deliveryLimitQuery, deliverySchema, deliveryStatusQuery } from '../schemas/outbox.js';
import { changeWebhookBody, createdWebhookSchema, createWebhookBody, webhookIdParams, webhookParams, webhookSchema } from '../schemas/webhooks.js';

const tag = 'webhooks';
const permission = 'webhook_manage';
const notFound = { 404: { description: 'No such workspace or webhook (or not yours to see)', schema: errorRef } };
const deliveryParams = { ...webhookIdParams, required: ['workspace', 'id', 'delivery_id'], properties: { ...(webhookIdParams.properties as object), delivery_id: deliveryIdParam } };

/**
 * A workspace's webhooks: subscriptions to its operations' state changes, finished workflows and
 * drift, delivered signed through the outbox (see README, Webhooks). The secret is answered once,
 * at creation; it is stored sealed and never shown again.
 */
export function webhookRoutes(route: RouteMounter, ctx: CoreContext, queue: Queue<OutboxJobData>): void {
  const webhooks = new WebhookService(ctx, queue);
  const audit = (workspace: string, id: string, detail?: Record<string, unknown>) => ({ resource_type: 'webhook', resource_id: id, workspace, ...(detail ? { detail } : {}) });

  route({
    method: 'POST', path: '/v1/workspaces/{workspace}/webhooks', operationId: 'createWebhook', tag, permission, summary: 'Subscribe a URL to events of the workspace',
    description: 'The answer holds the signing `secret` (given, or generated when omitted): the only time it is shown.',
    params: webhookParams, body: createWebhookBody,
    // The answer holds the secret: it must not be kept under an Idempotency-Key.
    idempotent: false,
    responses: { 201: { description: 'The subscription, with its secret this once', schema: createdWebhookSchema }, ...notFound },
    handler: async ({ params, body, access, actor }) => {
      const { subscription, secret } = await webhooks.create(access, params.workspace, body, actor.username);
      return {
        status: 201,
        body: { ...subscription, secret },
        headers: { Location: `/v1/workspaces/${params.workspace}/webhooks/${subscription.id}` },
        audit: audit(params.workspace, subscription.id, { url: subscription.url, events: subscription.events }),
      };
    },
  });

  route({
    method: 'GET', path: '/v1/workspaces/{workspace}/webhooks', operationId: 'listWebhooks', tag, permission, summary: "The workspace's webhooks (never their secrets)",
    description: 'Oldest first.',
    params: webhookParams,
    responses: { 200: { description: 'Subscriptions', schema: { type: 'array', items: webhookSchema } }, ...notFound },
    handler: async ({ params, access }) => ({ status: 200, body: await webhooks.list(access, params.workspace) }),
  });

  route({
    method: 'GET', path: '/v1/workspaces/{workspace}/webhooks/{id}', operationId: 'getWebhook', tag, permission, summary: 'One webhook (never its secret)',
    description: 'Its URL, event types and active flag.',
    params: webhookIdParams,
    responses: { 200: { description: 'The subscription', schema: webhookSchema }, ...notFound },
    handler: async ({ params, access }) => ({ status: 200, body: await webhooks.get(access, params.workspace, params.id) }),
  });

  route({
    method: 'PATCH', path: '/v1/workspaces/{workspace}/webhooks/{id}', operationId: 'updateWebhook', tag, permission, summary: "Change a webhook's URL, events, active flag or secret",
    description: 'Events from now on follow the change (dispatchers drop their cached copy at once). A new `secret` is not shown again.',
    params: webhookIdParams, body: changeWebhookBody, idempotent: false,
    responses: { 200: { description: 'The subscription', schema: webhookSchema }, ...notFound },
    handler: async ({ params, body, access }) => {
      const sub = await webhooks.change(access, params.workspace, params.id, body);
      return { status: 200, body: sub, audit: audit(params.workspace, sub.id, { changed: Object.keys(body) }) };
    },
  });

  route({
    method: 'DELETE', path: '/v1/workspaces/{workspace}/webhooks/{id}', operationId: 'deleteWebhook', tag, permission, summary: 'Delete a webhook',
    description: 'No event is delivered to it any more; deliveries still retrying are dropped at their next attempt.',
    params: webhookIdParams, bodyOptional: true,
    responses: { 200: { description: 'Deleted', schema: { type: 'object', required: ['id', 'deleted'], properties: { id: { type: 'string' }, deleted: { type: 'boolean' } } } }, ...notFound },
    handler: async ({ params, access }) => {
      await webhooks.remove(access, params.workspace, params.id);
      return { status: 200, body: { id: params.id, deleted: true }, audit: audit(params.workspace, params.id) };
    },
  });

  route({
    method: 'GET', path: '/v1/workspaces/{workspace}/webhooks/{id}/deliveries', operationId: 'listWebhookDeliveries', tag, permission, summary: "A webhook's deliveries and how each went",
    description: 'Newest first: status, attempts, the last HTTP status and error, when it was delivered or is next tried.',
    params: webhookIdParams,
    query: { type: 'object', additionalProperties: false, properties: { status: deliveryStatusQuery, limit: deliveryLimitQuery } },
    responses: { 200: { description: 'Deliveries', schema: { type: 'array', items: deliverySchema } }, ...notFound },
    handler: async ({ params, query, access }) => {
      const list = await webhooks.deliveriesOf(access, params.workspace, params.id, { status: query.status, limit: query.limit });
      return { status: 200, body: list.map((d) => deliveryView(d)) };
    },
  });

  route({
    method: 'POST', path: '/v1/workspaces/{workspace}/webhooks/{id}/deliveries/{delivery_id}/redeliver', operationId: 'redeliverWebhook', tag, permission, summary: 'Deliver an event again',
    description: 'A new delivery of the same event (same body, same `X-PE-Event`) under a new id, with `redelivery_of` naming the original.',
    params: deliveryParams, bodyOptional: true,
    responses: { 202: { description: 'The new delivery, queued', schema: deliverySchema }, ...notFound },
    handler: async ({ params, access }) => {
      const d = await webhooks.redeliver(access, params.workspace, params.id, params.delivery_id);
      return { status: 202, body: deliveryView(d), audit: audit(params.workspace, params.id, { redelivery: d.id, of: params.delivery_id }) };
    },
  });

  route({
    method: 'POST', path: '/v1/workspaces/{workspace}/webhooks/{id}/ping', operationId: 'pingWebhook', tag, permission, summary: 'Send a `ping` event to the webhook',
    description: 'Delivered through the outbox like any event, whatever the subscription’s event types: follow it in its deliveries.',
    params: webhookIdParams, bodyOptional: true,
    responses: { 202: { description: 'The ping delivery, queued', schema: deliverySchema }, ...notFound },
    handler: async ({ params, access, traceId }) => {
      const d = await webhooks.ping(access, params.workspace, params.id, traceId);
      return { status: 202, body: deliveryView(d), audit: audit(params.workspace, params.id, { ping: d.id }) };
    },
  });
}
