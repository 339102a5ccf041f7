import type { CoreContext } from '../context.js';
import { operationHistory } from '../events/hub.js';
import type { EngineEvent } from '../events/event.js';
import { flattenHistory, serverHistory } from '../servers/history.js';
import type { FoundDroplet } from './find.js';

/**
 * `GET /api/v1/droplets/{id}/events`: what happened to a droplet, in the shape of the Kubernetes
 * events the seed speaks of (`type` Normal or Warning, `reason`, `message`), made from the
 * engine's own record: the operations that touched the droplet's server (its create, power
 * actions, resizes, delete) and each one's events from the event stream.
 *
 * A page holds the events of up to `limit` such operations (or drift findings), newest first and
 * each one's events newest first; `next` continues with older ones.
 */
export interface DropletEvent {
  id: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  timestamp: string;
  operation_id: string | null;
  operation_type: string | null;
}

export interface DropletEventPage {
  items: DropletEvent[];
  next: string | null;
}

const WARNING_STATES = new Set(['failed', 'cancelled']);

function reasonOf(event: EngineEvent): string {
  if (event.kind === 'state' && event.to) return `${event.operation_type ?? 'operation'} ${event.to}`;
  return event.operation_type ? `${event.operation_type} ${event.kind}` : event.kind;
}

function messageOf(event: EngineEvent): string {
  if (event.message) return event.message;
  const op = `operation ${event.operation_id ?? 'unknown'} (${event.operation_type ?? 'unknown'})`;
  if (event.kind === 'state') return `${op} went from ${event.from ?? 'nothing'} to ${event.to ?? 'unknown'}`;
  return `${op}: ${event.kind}`;
}

export function toDropletEvent(event: EngineEvent): DropletEvent {
  return {
    id: event.id,
    type: (event.to && WARNING_STATES.has(event.to)) || event.kind === 'drift' ? 'Warning' : 'Normal',
    reason: reasonOf(event),
    message: messageOf(event),
    timestamp: event.at,
    operation_id: event.operation_id ?? null,
    operation_type: event.operation_type ?? null,
  };
}

/**
 * A page of what touched the droplet. Once its server exists, that server's history
 * (servers/history.ts, shared with `GET /v1/servers/{id}/events`): its operations and the drift
 * found about it, `limit` of them per page. Before that, only its create has happened.
 */
export async function dropletEvents(ctx: CoreContext, found: FoundDroplet, limit: number, cursor: string | null): Promise<DropletEventPage> {
  if (found.server) {
    const page = await serverHistory(ctx, found.server, limit, cursor);
    return { items: flattenHistory(page.entries).map(toDropletEvent), next: page.next };
  }
  if (!found.create || cursor !== null) return { items: [], next: null };
  const ops = [found.create];
  if (found.create.retry_of) {
    const first = await ctx.store.get(found.create.retry_of);
    if (first) ops.push(first);
  }
  const histories = await Promise.all(ops.map((op) => operationHistory(ctx.redis, ctx.keys, op.id)));
  return { items: histories.flatMap((h) => [...h].reverse().map(toDropletEvent)), next: null };
}
