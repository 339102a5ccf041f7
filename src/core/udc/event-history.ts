import type { Redis } from 'ioredis';
import { toEvent, type EngineEvent } from '../events/event.js';
import type { Keys } from '../keys.js';
import { finishedFieldsOf, PACKED_FIELD } from '../operations/finished-footprint.js';

/**
 * The engine's event stream as the UDC `GET /events` history names it. Progress notes are
 * left out: they are the operation's running commentary, not events of the droplet.
 */
export const UDC_EVENT_TYPES = [
  'operation_accepted',
  'operation_started',
  'cloud_resource_created',
  'cloud_resource_deleted',
  'power_action_completed',
  'server_resized',
  'taskserv_installed',
  'taskserv_removed',
  'operation_completed',
  'operation_failed',
  'operation_cancelled',
  'cancel_requested',
  'workflow_finished',
  'drift_found',
] as const;
export type UdcEventType = (typeof UDC_EVENT_TYPES)[number];

const COMPLETED_AS: Record<string, UdcEventType> = {
  'server.create': 'cloud_resource_created',
  'server.delete': 'cloud_resource_deleted',
  'server.action': 'power_action_completed',
  'server.resize': 'server_resized',
  'taskserv.create': 'taskserv_installed',
  'taskserv.delete': 'taskserv_removed',
};

/** What a stream entry is as a UDC event, or null for one the history leaves out. */
export function udcEventType(event: EngineEvent): UdcEventType | null {
  if (event.kind === 'drift') return 'drift_found';
  if (event.kind === 'cancel_requested') return 'cancel_requested';
  if (event.kind !== 'state') return null;
  const type = event.operation_type ?? '';
  const to = event.to;
  if (to === 'pending' && !event.from) return 'operation_accepted';
  if (to === 'running') return event.from === 'running' ? null : 'operation_started';
  if (type.startsWith('workflow.') && (to === 'completed' || to === 'failed' || to === 'cancelled')) return 'workflow_finished';
  if (to === 'completed') return COMPLETED_AS[type] ?? 'operation_completed';
  if (to === 'failed') return 'operation_failed';
  if (to === 'cancelled') return 'operation_cancelled';
  return null;
}

export interface UdcEvent {
  event_id: string;
  event_type: UdcEventType;
  timestamp: string;
  droplet_id: number;
  trace_id: string | null;
  details: Record<string, unknown>;
}

// Stream entries read per XREVRANGE, and the most one request looks through: a filter that
// matches rarely answers with what the newest MAX_SCANNED entries hold, never a scan of the whole stream.
const PAGE = 500;
export const MAX_SCANNED = 20_000;

/**
 * The newest `limit` events, newest first, only of `type` when given: XREVRANGE page by page
 * (COUNT), ending once enough are found or MAX_SCANNED entries were looked at.
 */
export async function recentEvents(redis: Redis, keys: Keys, dropletId: number, limit: number, type: UdcEventType | null): Promise<UdcEvent[]> {
  const found: Array<{ event: EngineEvent; type: UdcEventType }> = [];
  let end = '+';
  for (let scanned = 0; found.length < limit && scanned < MAX_SCANNED; ) {
    const page = await redis.xrevrange(keys.events(), end, '-', 'COUNT', PAGE);
    for (const [id, fields] of page) {
      const event = toEvent(id, fields);
      const mapped = udcEventType(event);
      if (mapped && (type === null || mapped === type)) found.push({ event, type: mapped });
      if (found.length >= limit) break;
    }
    scanned += page.length;
    if (page.length < PAGE) break;
    end = `(${page[page.length - 1]![0]}`;
  }
  const resources = await resourcesOf(redis, keys, found.map((f) => f.event));
  return found.map(({ event, type: eventType }) => toUdcEvent(event, eventType, dropletId, resources));
}

interface Resource {
  resource_id?: string;
  provider_id?: string;
  provider?: string;
}

const RESOURCE_FIELDS = ['target', 'result', 'provider'] as const;

/** What each operation worked on (its server), read in one pipeline for the events found. */
async function resourcesOf(redis: Redis, keys: Keys, events: EngineEvent[]): Promise<Map<string, Resource>> {
  const ids = [...new Set(events.map((e) => e.operation_id).filter((id): id is string => id !== undefined))];
  const out = new Map<string, Resource>();
  if (ids.length === 0) return out;
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hmget(keys.operation(id), ...RESOURCE_FIELDS, PACKED_FIELD);
  const replies = (await pipeline.exec()) ?? [];
  ids.forEach((id, i) => {
    const [err, values] = replies[i] ?? [];
    if (err || !Array.isArray(values)) return;
    // A finished record's fields may be packed into one (finished-footprint.ts).
    const [target, result, provider] = finishedFieldsOf(values as Array<string | null>, RESOURCE_FIELDS);
    const t = json(target);
    const r = json(result);
    const serverId = r.server_id ?? t.server_id ?? t.taskserv_id ?? r.taskserv_id;
    out.set(id, {
      ...(typeof serverId === 'string' ? { resource_id: serverId } : {}),
      ...(typeof r.provider_id === 'string' || typeof r.provider_id === 'number' ? { provider_id: String(r.provider_id) } : {}),
      ...(provider ? { provider } : {}),
    });
  });
  return out;
}

function json(raw: string | null): Record<string, unknown> {
  if (!raw) return {};
  try {
    const value = JSON.parse(raw) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function toUdcEvent(event: EngineEvent, type: UdcEventType, dropletId: number, resources: Map<string, Resource>): UdcEvent {
  const resource = event.operation_id ? resources.get(event.operation_id) : undefined;
  const details: Record<string, unknown> = {
    provider: event.provider ?? resource?.provider ?? null,
    resource_id: event.server_id ?? resource?.resource_id ?? null,
    ...(resource?.provider_id ? { provider_id: resource.provider_id } : {}),
    operation_id: event.operation_id ?? null,
    operation_type: event.operation_type ?? null,
    workspace: event.workspace ?? null,
    ...(event.kind === 'state' ? { status: event.to ?? null } : {}),
    ...(event.message ? { message: event.message } : {}),
  };
  return { event_id: `evt_${event.id}`, event_type: type, timestamp: event.at, droplet_id: dropletId, trace_id: event.trace_id ?? null, details };
}
