import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { CoreContext } from '../context.js';
import { ErrorCodes, NotFoundError, ValidationError } from '../../common/errors.js';
import type { Delivery } from '../outbox/model.js';
import { enqueueDelivery, type OutboxJobData } from '../outbox/queue.js';
import type { DeliveryStore } from '../outbox/store.js';
import { resolvePeer } from './peers.js';
import { canonicalJson, type MessageType, type UdcMessage } from './signing.js';

export type SendPriority = 'low' | 'normal' | 'high';

export interface SendRequest {
  /** From the body (`target` or `target_droplet_id`) or, in the registry's style, the query string. */
  target: string | number | undefined;
  message_type: MessageType;
  payload: Record<string, unknown>;
  priority: SendPriority;
  /** Retries after the first attempt; OUTBOX_ATTEMPTS bounds it. */
  retry_count: number | undefined;
}

/** BullMQ priorities: lower runs first. */
const PRIORITY: Record<SendPriority, number> = { high: 1, normal: 5, low: 10 };
const POLL_MS = 50;

/**
 * The delivery's id: the same request (its trace id, which a client may give in X-Trace-Id,
 * target, type and payload) is one delivery, so a client that retries a `/send` whose answer it
 * lost does not message the peer twice.
 */
function messageId(traceId: string, peerId: number, type: string, payload: unknown): string {
  return `msg-${createHash('sha256').update(`${traceId}|${peerId}|${type}|${canonicalJson(payload)}`).digest('hex').slice(0, 32)}`;
}

/**
 * Queues a mesh message for the peer `target` names (MESH_PEERS) and waits up to SEND_WAIT_MS
 * for its first attempt, so a reachable peer's answer is known at once; a peer that is down
 * gets it later, from the outbox's retries.
 */
export async function sendMessage(ctx: CoreContext, deliveries: DeliveryStore, queue: Queue<OutboxJobData>, req: SendRequest, traceId: string): Promise<Delivery> {
  if (req.target === undefined || req.target === '') throw new ValidationError([{ field: 'target', problem: 'is required' }]);
  const peer = resolvePeer(ctx.config, req.target);
  if (!peer) throw new NotFoundError(ErrorCodes.NOT_FOUND, `no droplet '${req.target}' among this droplet's peers (MESH_PEERS)`);
  const message: UdcMessage = {
    trace_id: traceId,
    source: ctx.config.droplet.id,
    target: peer.id,
    message_type: req.message_type,
    payload: req.payload,
    timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  const { delivery } = await enqueueDelivery(
    deliveries,
    queue,
    ctx.config,
    { id: messageId(traceId, peer.id, req.message_type, req.payload), kind: 'mesh', target: String(peer.id), url: `${peer.url}/message`, trace_id: traceId, body: JSON.stringify(message), message_type: req.message_type },
    { attempts: req.retry_count === undefined ? undefined : req.retry_count + 1, priority: PRIORITY[req.priority] },
  );
  const deadline = Date.now() + ctx.config.outbox.sendWaitMs;
  let current = delivery;
  while (current.status === 'queued' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    current = (await deliveries.get(delivery.id)) ?? current;
  }
  return current;
}
