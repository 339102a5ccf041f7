/**
 * What the UpCloud API 1.3 sends (PROVIDERS.md §4): the fields the adapter reads, its two
 * error shapes, and the mapping of server `state` onto the normalized status.
 */
import type { ParsedProviderError } from '../http-client.js';
import { tagsFromLabels, type UpCloudLabel } from './labels.js';
import type { ProviderServer, ServerStatus } from '../../common/provider.js';

export type UcServerState = 'maintenance' | 'started' | 'stopped' | 'error' | string;

/** A server as `GET /server` (summary) or `GET /server/{uuid}` (details) writes it. */
export interface UcServer {
  uuid: string;
  title?: string;
  hostname?: string;
  state: UcServerState;
  zone?: string;
  plan?: string;
  /** Unix seconds. */
  created?: number;
  /** Only while a new server is being built, as a string percentage. */
  progress?: string;
  labels?: { label?: UpCloudLabel[] } | null;
  /** Details only. */
  ip_addresses?: { ip_address?: Array<{ access?: string; family?: string; address?: string }> } | null;
  /** Details only; the first device is the boot disk. */
  storage_devices?: { storage_device?: Array<{ storage?: string }> } | null;
}

export interface UcZone {
  id: string;
  description?: string;
  public?: string;
}

export interface UcPlan {
  name: string;
  core_number?: number | string;
  memory_amount?: number | string;
  storage_size?: number | string;
}

/** One zone of `GET /price`: `server_plan_<name>` entries priced in euro cents per hour. */
export type UcPriceZone = { name: string } & Record<string, unknown>;

export interface UcStorage {
  uuid: string;
  title?: string;
  type?: string;
  state?: string;
  /** The template a disk was cloned from. */
  origin?: string;
}

/** UpCloud bills a month as 672 hours. */
export const HOURS_PER_MONTH = 672;

/**
 * §0 status table. `maintenance` covers building, restarting and modifying alike; only a
 * build reports `progress`, so that is what tells provisioning apart from other work.
 * `error` is transient on UpCloud (it returns to started or stopped by itself).
 */
export function normalizeUpCloudState(state: UcServerState, progress?: string): ServerStatus {
  switch (state) {
    case 'maintenance':
      return progress !== undefined ? 'provisioning' : 'busy';
    case 'started':
      return 'running';
    case 'stopped':
      return 'stopped';
    case 'error':
      return 'busy';
    default:
      return 'unknown';
  }
}

export function publicIpv4(server: UcServer): string | null {
  const entry = server.ip_addresses?.ip_address?.find((a) => a.access === 'public' && a.family === 'IPv4');
  return typeof entry?.address === 'string' && entry.address !== '' ? entry.address : null;
}

export function bootStorageOf(server: UcServer): string | null {
  const first = server.storage_devices?.storage_device?.[0]?.storage;
  return typeof first === 'string' && first !== '' ? first : null;
}

/** `image` is the template the boot disk was cloned from, which the server itself does not name. */
export function toProviderServer(server: UcServer, image: string | null): ProviderServer {
  return {
    provider: 'upcloud',
    providerId: server.uuid,
    name: server.title ?? server.hostname ?? '',
    plan: server.plan ?? '',
    zone: server.zone ?? '',
    image,
    status: normalizeUpCloudState(server.state, server.progress),
    ipv4: publicIpv4(server),
    tags: tagsFromLabels(server.labels?.label ?? []),
    createdAt: typeof server.created === 'number' ? new Date(server.created * 1000).toISOString() : '',
  };
}

/** A plan's price in one zone, in EUR, or undefined when the zone does not price it. */
export function planPrice(zone: UcPriceZone | undefined, plan: string): { hourly: number; monthly: number } | undefined {
  const entry = zone?.[`server_plan_${plan}`] as { amount?: unknown; price?: unknown } | undefined;
  if (typeof entry?.price !== 'number') return undefined;
  const amount = typeof entry.amount === 'number' && entry.amount > 0 ? entry.amount : 1;
  const hourly = entry.price / amount / 100;
  return { hourly: round(hourly, 5), monthly: round(hourly * HOURS_PER_MONTH, 2) };
}

export function numberField(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : 0;
}

/**
 * UpCloud errors are `{"error":{"error_code","error_message"}}` on the server endpoints and
 * RFC 7807 problem+json (`type` ending in `#ERROR_<CODE>`, `title`, `invalid_params`) on
 * newer ones (§4.7); both keep UpCloud's own code and message.
 */
export function parseUpCloudError(status: number, body: unknown): ParsedProviderError {
  if (body && typeof body === 'object') {
    const legacy = (body as { error?: { error_code?: unknown; error_message?: unknown } }).error;
    if (legacy && typeof legacy === 'object') {
      return {
        providerCode: typeof legacy.error_code === 'string' ? legacy.error_code : undefined,
        message: typeof legacy.error_message === 'string' ? legacy.error_message : `HTTP ${status}`,
      };
    }
    const problem = body as { type?: unknown; title?: unknown; invalid_params?: unknown };
    if (typeof problem.type === 'string' || typeof problem.title === 'string') {
      const title = typeof problem.title === 'string' ? problem.title : `HTTP ${status}`;
      // Field reasons add to the title only when they say something it does not.
      const reasons = (Array.isArray(problem.invalid_params) ? problem.invalid_params : [])
        .map((p: { name?: unknown; reason?: unknown }) => (typeof p?.name === 'string' && typeof p.reason === 'string' ? p : null))
        .filter((p): p is { name: string; reason: string } => p !== null && p.reason !== title)
        .map((p) => `${p.name}: ${p.reason}`);
      return {
        providerCode: typeof problem.type === 'string' ? problemCode(problem.type) : undefined,
        message: reasons.length > 0 ? `${title} (${reasons.join('; ')})` : title,
      };
    }
  }
  return { message: typeof body === 'string' && body.trim() !== '' ? body : `HTTP ${status}` };
}

/** `https://developers.upcloud.com/1.3/errors#ERROR_SERVER_NOT_FOUND` → `SERVER_NOT_FOUND`; a bare type is the code itself. */
function problemCode(type: string): string {
  const hash = type.lastIndexOf('#');
  const fragment = hash >= 0 ? type.slice(hash + 1) : type;
  return fragment.replace(/^ERROR_/, '');
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
