import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ErrorCodes, NotFoundError } from '../../common/errors.js';
import type { Keys } from '../keys.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { WebhookSubscription } from './model.js';

/** The secret box purpose of a subscription's secret: bound to its id, so a sealed secret moved to another subscription does not open. */
const purpose = (id: string) => `webhook-secret:${id}`;

export interface NewSubscription {
  workspace: string;
  url: string;
  events: string[];
  active: boolean;
  description: string | null;
  /** Given by the caller, or null to generate one. */
  secret: string | null;
  createdBy: string;
}

export interface SubscriptionChange {
  url?: string;
  events?: string[];
  active?: boolean;
  description?: string | null;
  secret?: string;
}

function fromHash(h: Record<string, string>): WebhookSubscription | null {
  if (!h.id) return null;
  return {
    id: h.id,
    workspace: h.workspace ?? '',
    url: h.url ?? '',
    events: JSON.parse(h.events ?? '[]') as string[],
    active: h.active === '1',
    description: h.description ? h.description : null,
    created_by: h.created_by ?? '',
    created_at: h.created_at ?? '',
    updated_at: h.updated_at ?? '',
  };
}

/**
 * Webhook subscriptions in Redis: one hash each (the secret sealed by the engine's secret box,
 * never returned by `get` or `list`), a set of ids per workspace, and a version counter bumped
 * on every change so the dispatchers' cached copies are dropped.
 */
export class WebhookStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly box: SecretBox,
  ) {}

  /** Creates the subscription; the secret (given or generated) is returned this once. */
  async create(input: NewSubscription): Promise<{ subscription: WebhookSubscription; secret: string }> {
    const id = `wh_${randomBytes(8).toString('hex')}`;
    const secret = input.secret ?? `whsec_${randomBytes(32).toString('base64url')}`;
    const now = new Date().toISOString();
    await this.redis
      .multi()
      .hset(this.keys.webhook(id), {
        id,
        workspace: input.workspace,
        url: input.url,
        events: JSON.stringify(input.events),
        active: input.active ? '1' : '0',
        description: input.description ?? '',
        secret: this.box.seal(secret, purpose(id)),
        created_by: input.createdBy,
        created_at: now,
        updated_at: now,
      })
      .sadd(this.keys.webhooksOf(input.workspace), id)
      .incr(this.keys.webhooksVersion())
      .exec();
    return { subscription: (await this.get(id))!, secret };
  }

  async get(id: string): Promise<WebhookSubscription | null> {
    return fromHash(await this.redis.hgetall(this.keys.webhook(id)));
  }

  /** The subscription when it exists in `workspace`; otherwise 404 (an id of another workspace does not leak). */
  async require(workspace: string, id: string): Promise<WebhookSubscription> {
    const sub = /^wh_[0-9a-f]{16}$/.test(id) ? await this.get(id) : null;
    if (!sub || sub.workspace !== workspace) throw new NotFoundError(ErrorCodes.WEBHOOK_NOT_FOUND, `webhook '${id}' does not exist in workspace '${workspace}'`);
    return sub;
  }

  /** One workspace's subscriptions, oldest first. */
  async list(workspace: string): Promise<WebhookSubscription[]> {
    const ids = await this.redis.smembers(this.keys.webhooksOf(workspace));
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.webhook(id));
    const subs = ((await pipeline.exec()) ?? []).map(([, h]) => fromHash(h as Record<string, string>)).filter((s): s is WebhookSubscription => s !== null);
    return subs.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  async change(workspace: string, id: string, change: SubscriptionChange): Promise<WebhookSubscription> {
    await this.require(workspace, id);
    const fields: Record<string, string> = { updated_at: new Date().toISOString() };
    if (change.url !== undefined) fields.url = change.url;
    if (change.events !== undefined) fields.events = JSON.stringify(change.events);
    if (change.active !== undefined) fields.active = change.active ? '1' : '0';
    if (change.description !== undefined) fields.description = change.description ?? '';
    if (change.secret !== undefined) fields.secret = this.box.seal(change.secret, purpose(id));
    await this.redis.multi().hset(this.keys.webhook(id), fields).incr(this.keys.webhooksVersion()).exec();
    return (await this.get(id))!;
  }

  async remove(workspace: string, id: string): Promise<void> {
    await this.require(workspace, id);
    await this.redis.multi().del(this.keys.webhook(id)).srem(this.keys.webhooksOf(workspace), id).incr(this.keys.webhooksVersion()).exec();
  }

  /** The subscription's secret in clear, for signing one attempt; null when the subscription is gone. */
  async secretOf(id: string): Promise<string | null> {
    const sealed = await this.redis.hget(this.keys.webhook(id), 'secret');
    return sealed ? this.box.open(sealed, purpose(id)) : null;
  }

  /** Changes on every create, change or removal of any subscription. */
  async version(): Promise<string> {
    return (await this.redis.get(this.keys.webhooksVersion())) ?? '0';
  }
}
