import { UnrecoverableError, type Job } from 'bullmq';
import type { CoreContext } from '../core/context.js';
import { attemptDelivery } from '../core/outbox/attempt.js';
import { retryDelayMs } from '../core/outbox/backoff.js';
import type { AttemptOutcome, Delivery } from '../core/outbox/model.js';
import type { OutboxJobData } from '../core/outbox/queue.js';
import type { DeliveryStore } from '../core/outbox/store.js';
import { secretBox } from '../core/secrets/secret-key.js';
import { DropletSigner, type UdcMessage } from '../core/udc/signing.js';
import { signatureHeader } from '../core/webhooks/signature.js';
import type { WebhookStore } from '../core/webhooks/store.js';

/** A failed attempt worth another: carries the wait already recorded, which the worker's backoff then uses. */
export class RetryDeliveryError extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
    this.name = 'RetryDeliveryError';
  }
}

export interface OutboxDeps {
  ctx: CoreContext;
  deliveries: DeliveryStore;
  webhooks: WebhookStore;
}

type Prepared = { url: string; body: string; headers: Record<string, string>; publicOnly: boolean } | { gone: string };

/**
 * Makes the request of one attempt. Signatures and bearer tokens are made now, from the
 * webhook's secret (opened from its sealed copy) or the droplet's key, so none is ever stored
 * with the delivery or the job, and each attempt's signature carries a fresh time.
 */
async function prepare(deps: OutboxDeps, d: Delivery): Promise<Prepared> {
  if (d.kind === 'webhook') {
    const sub = d.subscription_id ? await deps.webhooks.get(d.subscription_id) : null;
    if (!sub) return { gone: 'the webhook subscription was deleted' };
    if (!sub.active) return { gone: 'the webhook subscription is inactive' };
    const secret = await deps.webhooks.secretOf(sub.id);
    if (secret === null) return { gone: 'the webhook subscription was deleted' };
    return {
      // The subscription's URL now: a receiver that moved (PATCH) gets the retries too.
      url: sub.url,
      body: d.body,
      publicOnly: !deps.ctx.config.webhooks.allowPrivateTargets,
      headers: {
        'X-PE-Event': d.event_type ?? '',
        'X-PE-Delivery': d.id,
        'X-Trace-Id': d.trace_id,
        'X-PE-Signature': signatureHeader(secret, d.body),
      },
    };
  }
  const message = JSON.parse(d.body) as UdcMessage;
  const signer = await DropletSigner.load(deps.ctx.redis, deps.ctx.keys, deps.ctx.config, secretBox(deps.ctx.config));
  const body = JSON.stringify({ ...message, signature: signer.signMessage(message) });
  // Mesh peers are the operator's own configuration (MESH_PEERS), so they may sit on a private network.
  return { url: d.url, body, publicOnly: false, headers: { Authorization: `Bearer ${signer.bearerFor(d.target)}`, 'X-Trace-Id': d.trace_id } };
}

/**
 * The outbox's processor: one attempt per run. Delivered ends the job; a final refusal (a 4xx
 * other than 408/429, a target that may not be reached) fails it at once; anything else is
 * retried with backoff until OUTBOX_ATTEMPTS, recording each attempt on the delivery.
 */
export function outboxProcessor(deps: OutboxDeps) {
  const { ctx, deliveries } = deps;
  return async (job: Job<OutboxJobData>): Promise<string> => {
    const d = await deliveries.get(job.data.deliveryId);
    // Gone (expired) or already settled by an earlier run of this job: nothing to send.
    if (!d || d.status === 'delivered' || d.status === 'failed') return d?.status ?? 'gone';
    const prepared = await prepare(deps, d);
    if ('gone' in prepared) {
      await deliveries.fail(d.id, prepared.gone);
      throw new UnrecoverableError(prepared.gone);
    }
    const outcome: AttemptOutcome = await attemptDelivery({ ...prepared, timeoutMs: ctx.config.outbox.timeoutMs });
    const attempt = job.attemptsMade + 1;
    const log = { delivery_id: d.id, kind: d.kind, trace_id: d.trace_id, attempt, status_code: outcome.statusCode };
    if (outcome.result === 'delivered') {
      await deliveries.recordAttempt(d.id, outcome, 'delivered', null);
      ctx.logger.info('delivered', log);
      return 'delivered';
    }
    if (outcome.result === 'failed' || attempt >= (job.opts.attempts ?? 1)) {
      const error = outcome.result === 'failed' ? outcome.error : `gave up after ${attempt} attempts: ${outcome.error}`;
      await deliveries.recordAttempt(d.id, { ...outcome, error }, 'failed', null);
      ctx.logger.warn('delivery failed', { ...log, error });
      throw new UnrecoverableError(error);
    }
    const delayMs = retryDelayMs(attempt, ctx.config.outbox.backoffMs, outcome.retryAfterMs);
    await deliveries.recordAttempt(d.id, outcome, 'retrying', new Date(Date.now() + delayMs));
    ctx.logger.info('delivery will be retried', { ...log, error: outcome.error, delay_ms: delayMs });
    throw new RetryDeliveryError(outcome.error, delayMs);
  };
}

/** The worker's backoff for the outbox: the wait the processor chose and recorded. */
export function outboxBackoff(baseMs: number) {
  return (attemptsMade: number, _type?: string, err?: Error): number => (err instanceof RetryDeliveryError ? err.delayMs : retryDelayMs(attemptsMade, baseMs));
}
