import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import { luaScript } from '../lua.js';
import type { AttemptOutcome, Delivery, DeliveryKind, DeliveryStatus, NewDelivery } from './model.js';

/** How many ids each index keeps (newest first); older deliveries drop out of the lists. */
const INDEX_CAP = 10_000;
const SUBSCRIPTION_INDEX_CAP = 1_000;
/** How long a delivery record is kept after it was made. */
const RECORD_TTL_SECONDS = 30 * 86_400;
const SCAN_CHUNK = 200;

/**
 * Writes a delivery unless its id is taken, and lists it in its indexes, in one step: the same
 * message or event offered twice (a re-read stream entry, a client's retried request) is one
 * delivery. KEYS: record, all, kind index, subscription index (or '').
 * ARGV: caps, TTL, then field/value pairs. Returns 1 when written, 0 when it was there.
 */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
local id = redis.call('HGET', KEYS[1], 'id')
redis.call('LPUSH', KEYS[2], id)
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[1]) - 1)
redis.call('LPUSH', KEYS[3], id)
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[1]) - 1)
if KEYS[4] ~= '' then
  redis.call('LPUSH', KEYS[4], id)
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[2]) - 1)
end
return 1`;

const NULLABLE = ['last_status_code', 'last_error', 'delivered_at', 'next_attempt_at', 'subscription_id', 'workspace', 'event_type', 'event_id', 'message_type', 'redelivery_of'] as const;

function fromHash(h: Record<string, string>): Delivery | null {
  if (!h.id) return null;
  const text = (k: string) => (h[k] === undefined || h[k] === '' ? null : h[k]!);
  return {
    id: h.id,
    kind: h.kind as DeliveryKind,
    target: h.target ?? '',
    url: h.url ?? '',
    status: h.status as DeliveryStatus,
    attempts: Number(h.attempts ?? 0),
    last_status_code: text('last_status_code') === null ? null : Number(h.last_status_code),
    last_error: text('last_error'),
    trace_id: h.trace_id ?? '',
    created_at: h.created_at ?? '',
    delivered_at: text('delivered_at'),
    next_attempt_at: text('next_attempt_at'),
    subscription_id: text('subscription_id'),
    workspace: text('workspace'),
    event_type: text('event_type'),
    event_id: text('event_id'),
    message_type: text('message_type'),
    redelivery_of: text('redelivery_of'),
    body: h.body ?? '',
  };
}

export interface DeliveryFilter {
  kind?: DeliveryKind;
  subscriptionId?: string;
  status?: DeliveryStatus;
  limit: number;
}

/** The outbox's records in Redis: one hash per delivery, capped lists of ids newest first. */
export class DeliveryStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Writes the delivery as `queued` unless one with its id exists; says which, and returns the record. */
  async create(input: NewDelivery): Promise<{ created: boolean; delivery: Delivery }> {
    const fields: Record<string, string> = {
      id: input.id,
      kind: input.kind,
      target: input.target,
      url: input.url,
      status: 'queued',
      attempts: '0',
      trace_id: input.trace_id,
      created_at: new Date().toISOString(),
      body: input.body,
    };
    for (const k of NULLABLE) {
      const v = (input as Record<string, unknown>)[k];
      if (typeof v === 'string' && v !== '') fields[k] = v;
    }
    const run = luaScript(this.redis, 'peOutboxCreate', CREATE, 4);
    const created = (await run(
      this.keys.outboxDelivery(input.id),
      this.keys.outboxIndex('all'),
      this.keys.outboxIndex(input.kind),
      input.subscription_id ? this.keys.outboxIndex(`sub:${input.subscription_id}`) : '',
      String(INDEX_CAP),
      String(SUBSCRIPTION_INDEX_CAP),
      String(RECORD_TTL_SECONDS),
      ...Object.entries(fields).flat(),
    )) as number;
    const delivery = await this.get(input.id);
    if (!delivery) throw new Error(`delivery ${input.id} vanished as it was written`);
    return { created: created === 1, delivery };
  }

  async get(id: string): Promise<Delivery | null> {
    return fromHash(await this.redis.hgetall(this.keys.outboxDelivery(id)));
  }

  /** Records one attempt: its outcome, the count, and when the next is due (while retrying). */
  async recordAttempt(id: string, outcome: AttemptOutcome, status: DeliveryStatus, nextAttemptAt: Date | null): Promise<void> {
    const key = this.keys.outboxDelivery(id);
    const fields: Record<string, string> = {
      status,
      last_status_code: outcome.statusCode === null ? '' : String(outcome.statusCode),
      last_error: outcome.result === 'delivered' ? '' : outcome.error.slice(0, 200),
      next_attempt_at: nextAttemptAt ? nextAttemptAt.toISOString() : '',
    };
    if (outcome.result === 'delivered') fields.delivered_at = new Date().toISOString();
    await this.redis.multi().hincrby(key, 'attempts', 1).hset(key, fields).exec();
  }

  /** Marks a delivery `failed` without an attempt (its target is gone, say). */
  async fail(id: string, error: string): Promise<void> {
    await this.redis.hset(this.keys.outboxDelivery(id), { status: 'failed', last_error: error.slice(0, 200), next_attempt_at: '' });
  }

  /** Newest first; a status filter reads on through the index until `limit` match. */
  async list(filter: DeliveryFilter): Promise<Delivery[]> {
    const index = filter.subscriptionId ? this.keys.outboxIndex(`sub:${filter.subscriptionId}`) : this.keys.outboxIndex(filter.kind ?? 'all');
    const out: Delivery[] = [];
    for (let start = 0; out.length < filter.limit; start += SCAN_CHUNK) {
      const ids = await this.redis.lrange(index, start, start + SCAN_CHUNK - 1);
      if (ids.length === 0) break;
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hgetall(this.keys.outboxDelivery(id));
      for (const [, h] of (await pipeline.exec()) ?? []) {
        const d = fromHash(h as Record<string, string>);
        if (!d || (filter.status && d.status !== filter.status)) continue;
        out.push(d);
        if (out.length >= filter.limit) break;
      }
      if (ids.length < SCAN_CHUNK) break;
    }
    return out;
  }
}
