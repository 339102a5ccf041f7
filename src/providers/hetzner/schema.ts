/**
 * The parts of Hetzner Cloud API v1 responses the adapter reads (PROVIDERS.md §2), and
 * how they become the engine's normalized server: status mapping per §0, labels as tags,
 * error bodies as code and message.
 */
import { ErrorCodes, ProviderError } from '../../common/errors.js';
import type { ParsedProviderError } from '../http-client.js';
import { labelsToTags } from './labels.js';
import type { ProviderServer, ServerStatus } from '../../common/provider.js';
import { adapterErrors, isNotFound } from '../adapter-kit.js';
import { retryAfterMs, type ResponseHeaders } from '../../common/retry-after.js';

export const PROVIDER = 'hetzner';
export const { notFound, actionFailed, rejected, badResponse } = adapterErrors(PROVIDER, 'server');
export { isNotFound };

export interface HcServer {
  id: number;
  name: string;
  status: string;
  created: string;
  locked?: boolean;
  public_net?: { ipv4?: { ip?: string } | null } | null;
  server_type?: { name?: string } | null;
  /** Top-level since 2026-07; older answers only had it inside `datacenter`. */
  location?: { name?: string } | null;
  datacenter?: { location?: { name?: string } | null } | null;
  image?: { id?: number; name?: string | null } | null;
  labels?: Record<string, string> | null;
}

export interface HcAction {
  id: number;
  command: string;
  started?: string;
  status: 'running' | 'success' | 'error' | string;
  progress?: number;
  error?: { code?: string; message?: string } | null;
}

export interface HcPrice {
  location: string;
  price_hourly?: { net?: string; gross?: string };
  price_monthly?: { net?: string; gross?: string };
}

export interface HcServerType {
  id: number;
  name: string;
  cores?: number;
  memory?: number;
  disk?: number;
  architecture?: string;
  deprecated?: boolean | null;
  prices?: HcPrice[];
  /** Where the type can be created, with per-location deprecation (added 2026). */
  locations?: Array<{ name: string; deprecation?: unknown }>;
}

export interface HcLocation {
  id: number;
  name: string;
  description?: string;
  city?: string;
  country?: string;
}

export interface HcImage {
  id: number;
  name?: string | null;
  description?: string;
  os_flavor?: string;
  architecture?: string;
  status?: string;
}

export interface HcPagination {
  next_page?: number | null;
}

/** Hetzner error bodies are `{"error":{"code","message","details"}}` (§2.7). */
export function parseHetznerError(status: number, body: unknown): ParsedProviderError {
  const error = (body as { error?: unknown } | undefined)?.error;
  if (error && typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return {
      providerCode: typeof code === 'string' ? code : undefined,
      message: typeof message === 'string' ? message : `HTTP ${status}`,
    };
  }
  return { message: typeof body === 'string' && body.trim() !== '' ? body : `HTTP ${status}` };
}

/**
 * How long a Hetzner 429 asks us to wait (§2.8). `RateLimit-Reset` is when the bucket is
 * full again, which after a burst is up to an hour away; the bucket refills evenly, so the
 * next request fits after (reset − now) / (limit − remaining), one second at the default
 * 3600 per hour. A `Retry-After` (from a proxy in between) wins when present.
 */
export function hetznerRateLimitWaitMs(headers: ResponseHeaders, now: number = Date.now()): number | undefined {
  const retryAfter = retryAfterMs(headers, now);
  if (retryAfter !== undefined) return Math.max(0, retryAfter);
  const reset = Number(headers.get('ratelimit-reset'));
  const limit = Number(headers.get('ratelimit-limit'));
  const remaining = Number(headers.get('ratelimit-remaining') ?? 0);
  if (headers.get('ratelimit-reset') === null || !Number.isFinite(reset)) return undefined;
  const untilFull = Math.max(0, reset * 1000 - now);
  if (!Number.isFinite(limit) || limit <= 0) return untilFull;
  return Math.ceil(untilFull / Math.max(1, limit - (Number.isFinite(remaining) ? remaining : 0)));
}

/**
 * §0 status table. `starting` is provisioning during the first boot after create (the
 * adapter knows it is waiting for that) and a plain start otherwise. `locked` means an
 * action holds the server, so a running or off server that is locked is mid-transition.
 */
export function normalizeHetznerStatus(status: string, locked: boolean | undefined, firstBoot = false): ServerStatus {
  switch (status) {
    case 'initializing':
      return 'provisioning';
    case 'starting':
      return firstBoot ? 'provisioning' : 'starting';
    case 'running':
      return locked ? 'busy' : 'running';
    case 'stopping':
      return 'stopping';
    case 'off':
      return locked ? 'busy' : 'stopped';
    case 'migrating':
    case 'rebuilding':
    case 'deleting':
      return 'busy';
    default:
      return 'unknown';
  }
}

export function toServer(server: HcServer, firstBoot = false): ProviderServer {
  const image = server.image;
  return {
    provider: PROVIDER,
    providerId: String(server.id),
    name: server.name,
    plan: server.server_type?.name ?? '',
    zone: server.location?.name ?? server.datacenter?.location?.name ?? '',
    image: image?.name ?? (typeof image?.id === 'number' ? String(image.id) : null),
    status: normalizeHetznerStatus(server.status, server.locked, firstBoot),
    providerStatus: server.status,
    ipv4: server.public_net?.ipv4?.ip ?? null,
    tags: labelsToTags(server.labels),
    createdAt: server.created,
  };
}

export function expectServer(value: unknown, what: string): HcServer {
  const s = value as HcServer | undefined;
  if (!s || typeof s !== 'object' || typeof s.id !== 'number' || typeof s.status !== 'string') {
    throw badResponse(`${what} answered without a server`);
  }
  return s;
}

export function expectAction(value: unknown, what: string): HcAction {
  const a = value as HcAction | undefined;
  if (!a || typeof a !== 'object' || typeof a.id !== 'number' || typeof a.status !== 'string') {
    throw badResponse(`${what} answered without an action`);
  }
  return a;
}

/** A decimal string such as "4.1531" as a number; undefined when absent or malformed. */
export function decimal(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Another action holds the server (`locked`, 423). */
export function isLocked(err: unknown): boolean {
  return err instanceof ProviderError && err.providerCode === 'locked';
}

