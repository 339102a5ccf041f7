import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Access } from '../auth/access.js';
import type { CoreContext } from '../context.js';
import { ErrorCodes, NotFoundError } from '../../common/errors.js';
import type { Delivery, DeliveryStatus } from '../outbox/model.js';
import { enqueueDelivery, type OutboxJobData } from '../outbox/queue.js';
import { DeliveryStore } from '../outbox/store.js';
import { webhookDelivery } from './delivery.js';
import { secretBox } from '../secrets/secret-key.js';
import type { WebhookSubscription } from './model.js';
import { WebhookStore, type SubscriptionChange } from './store.js';
import { checkWebhookUrl } from './target-check.js';

export interface CreateWebhookInput {
  url: string;
  events: string[];
  secret?: string;
  active?: boolean;
  description?: string | null;
}

const workspaceNotFound = (name: string) => () => new NotFoundError(ErrorCodes.WORKSPACE_NOT_FOUND, `workspace '${name}' does not exist`);

/** Repeated event types are one. */
const distinct = (events: string[]) => [...new Set(events)];

/**
 * A workspace's webhooks, as the API offers them: every call checks `webhook_manage` in the
 * workspace first (a workspace the caller does not see answers 404, as one that does not exist).
 */
export class WebhookService {
  readonly store: WebhookStore;
  readonly deliveries: DeliveryStore;

  constructor(
    private readonly ctx: CoreContext,
    private readonly queue: Queue<OutboxJobData>,
  ) {
    this.store = new WebhookStore(ctx.redis, ctx.keys, secretBox(ctx.config));
    this.deliveries = new DeliveryStore(ctx.redis, ctx.keys);
  }

  private async allowed(access: Access, workspace: string): Promise<void> {
    access.requireOn('webhook_manage', workspace, workspaceNotFound(workspace));
    await this.ctx.workspaces.require(workspace);
  }

  async create(access: Access, workspace: string, input: CreateWebhookInput, createdBy: string): Promise<{ subscription: WebhookSubscription; secret: string }> {
    await this.allowed(access, workspace);
    const url = await checkWebhookUrl(input.url, this.ctx.config.webhooks.allowPrivateTargets);
    return this.store.create({ workspace, url, events: distinct(input.events), active: input.active ?? true, description: input.description ?? null, secret: input.secret ?? null, createdBy });
  }

  async list(access: Access, workspace: string): Promise<WebhookSubscription[]> {
    await this.allowed(access, workspace);
    return this.store.list(workspace);
  }

  async get(access: Access, workspace: string, id: string): Promise<WebhookSubscription> {
    await this.allowed(access, workspace);
    return this.store.require(workspace, id);
  }

  async change(access: Access, workspace: string, id: string, change: SubscriptionChange): Promise<WebhookSubscription> {
    await this.allowed(access, workspace);
    await this.store.require(workspace, id);
    const checked: SubscriptionChange = { ...change };
    if (change.url !== undefined) checked.url = await checkWebhookUrl(change.url, this.ctx.config.webhooks.allowPrivateTargets);
    if (change.events !== undefined) checked.events = distinct(change.events);
    return this.store.change(workspace, id, checked);
  }

  async remove(access: Access, workspace: string, id: string): Promise<void> {
    await this.allowed(access, workspace);
    await this.store.remove(workspace, id);
  }

  async deliveriesOf(access: Access, workspace: string, id: string, filter: { status?: DeliveryStatus; limit: number }): Promise<Delivery[]> {
    await this.allowed(access, workspace);
    await this.store.require(workspace, id);
    return this.deliveries.list({ subscriptionId: id, ...filter });
  }

  /** A new delivery of the same event (same body) under a new id, naming the one it repeats. */
  async redeliver(access: Access, workspace: string, id: string, deliveryId: string): Promise<Delivery> {
    await this.allowed(access, workspace);
    const sub = await this.store.require(workspace, id);
    const original = await this.deliveries.get(deliveryId);
    if (!original || original.subscription_id !== sub.id) throw new NotFoundError(ErrorCodes.DELIVERY_NOT_FOUND, `delivery '${deliveryId}' of webhook '${id}' does not exist`);
    const event = { id: original.event_id ?? 'event', type: original.event_type ?? 'event', workspace, traceId: original.trace_id, body: original.body };
    const { delivery } = await enqueueDelivery(this.deliveries, this.queue, this.ctx.config, webhookDelivery(sub, event, { id: `${sub.id}.${event.id}.r${randomBytes(4).toString('hex')}`, redeliveryOf: original.id }));
    return delivery;
  }

  /** A `ping` event to the subscription alone, through the outbox like any other, to check the receiver. */
  async ping(access: Access, workspace: string, id: string, traceId: string): Promise<Delivery> {
    await this.allowed(access, workspace);
    const sub = await this.store.require(workspace, id);
    const eventId = `ping-${Date.now()}-${randomBytes(4).toString('hex')}`;
    const body = JSON.stringify({ id: eventId, type: 'ping', created_at: new Date().toISOString(), workspace, trace_id: traceId, data: { webhook: { id: sub.id, url: sub.url, events: sub.events } } });
    const { delivery } = await enqueueDelivery(this.deliveries, this.queue, this.ctx.config, webhookDelivery(sub, { id: eventId, type: 'ping', workspace, traceId, body }));
    return delivery;
  }
}
