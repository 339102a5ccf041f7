/**
 * The one contract every cloud adapter implements, and the normalized server it returns.
 *
 * Glossary
 * - provider: a cloud (digitalocean, hetzner, vultr, upcloud) reached over its HTTP API.
 * - provider id: the cloud's own id of a server, always carried as a string here (DO and
 *   Hetzner use integers, Vultr and UpCloud UUIDs).
 * - marker: the engine operation id that created a server, stored on the server itself
 *   (DO/Vultr tag `pe-op:<id>`, Hetzner/UpCloud label) so a rerun of the same operation
 *   finds what an earlier attempt made instead of creating a second server.
 * - normalized status: the provider's status mapped onto `ServerStatus`
 *   (PROVIDERS.md §0).
 */
export type ProviderName = 'digitalocean' | 'hetzner' | 'vultr' | 'upcloud';

export const PROVIDER_NAMES: readonly ProviderName[] = ['digitalocean', 'hetzner', 'vultr', 'upcloud'];

export type ServerStatus =
  | 'provisioning'
  | 'running'
  | 'starting'
  | 'stopping'
  | 'stopped'
  | 'busy'
  | 'gone'
  | 'unknown';

export type PowerAction = 'reboot' | 'power_off' | 'power_on';

export interface ProviderServer {
  provider: ProviderName;
  providerId: string;
  name: string;
  plan: string;
  zone: string;
  image: string | null;
  status: ServerStatus;
  /** The provider's own word for the status (`active`, `running`, `started`…), for answers in its terms. */
  providerStatus?: string;
  /** Public IPv4, null until the provider has assigned one. */
  ipv4: string | null;
  tags: string[];
  createdAt: string;
}

export interface CreateServerInput {
  name: string;
  plan: string;
  zone: string;
  image: string;
  sshKeys?: string[];
  userData?: string;
  tags: string[];
  /** The operation id; the adapter stores it on the server as its marker. */
  marker: string;
}

export interface CallContext {
  /** Fires when the operation is cancelled; every request and every poll wait honours it. */
  signal?: AbortSignal;
  /** Human-readable progress, e.g. "waiting for droplet 123 to become active". */
  onProgress?: (message: string) => void;
  traceId?: string;
}

/** What a create in check mode would make, after the provider confirmed every slug exists. */
export interface CreatePlan {
  provider: ProviderName;
  name: string;
  plan: string;
  zone: string;
  image: string;
  price_monthly?: number;
  price_hourly?: number;
}

/** Console access a provider hands out for one server. */
export interface ConsoleAccess {
  /** `vnc-websocket` (Hetzner), `kvm-url` (Vultr), … */
  type: string;
  url: string;
  /** Present when the provider issues one with the console (Hetzner's VNC password). */
  password?: string;
}

export interface CatalogRegion {
  provider: ProviderName;
  /** The slug/name/id the provider's create call takes (nyc3, fsn1, ewr, de-fra1). */
  id: string;
  name: string;
  country?: string;
  available: boolean;
}

export interface CatalogPlan {
  provider: ProviderName;
  /** The slug/name/id the provider's create call takes (s-2vcpu-4gb, cx23, vc2-2c-4gb, 2xCPU-4GB). */
  id: string;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
  price_monthly: number;
  price_hourly: number;
  currency: string;
  /** Region ids where the plan can be created; empty when the provider does not say. */
  regions: string[];
}

export interface CatalogImage {
  provider: ProviderName;
  /** What the provider's create call takes for this image (slug, name, os_id or template UUID). */
  id: string;
  name: string;
  distribution: string;
}

export interface Provider {
  readonly name: ProviderName;
  /** The image a create uses when the request names none: the provider's current Ubuntu LTS, as its create call takes it. */
  readonly defaultImage: string;
  /** Whether `requestConsole` exists for this provider (Hetzner, Vultr); the API answers 501 otherwise. */
  readonly supportsConsole: boolean;
  /** Check region, size and image against the provider's catalogue; throws ProviderError (PROVIDER_REJECTED) naming the bad one. */
  planCreate(input: CreateServerInput, ctx: CallContext): Promise<CreatePlan>;
  /** The server an earlier attempt of this operation created, if any. */
  findByMarker(marker: string, ctx: CallContext): Promise<ProviderServer | null>;
  /** Sends the create and returns as soon as the provider accepted it (not yet running). */
  createServer(input: CreateServerInput, ctx: CallContext): Promise<ProviderServer>;
  /** null when the provider answers 404. */
  getServer(providerId: string, ctx: CallContext): Promise<ProviderServer | null>;
  /** Polls until the server is running with its address; throws AbortedError when the signal fires. */
  waitUntilRunning(providerId: string, ctx: CallContext): Promise<ProviderServer>;
  /** Deletes and waits until gone. `existed: false` when it was already gone (404). */
  deleteServer(providerId: string, ctx: CallContext): Promise<{ existed: boolean }>;
  /** Runs the action and waits for it to finish; returns the server afterwards. */
  powerAction(providerId: string, action: PowerAction, ctx: CallContext): Promise<ProviderServer>;
  /** Every server, following the provider's pagination to the end. */
  listServers(ctx: CallContext): Promise<ProviderServer[]>;
  /**
   * Changes the plan, doing whatever the provider needs around it (power off first), saying
   * each step through ctx.onProgress, and leaves the server running when `startAfter` (the
   * caller knows whether it ran when the resize was asked for, even on a rerun that finds
   * it already stopped or already resized). Returns the server afterwards.
   */
  resize(providerId: string, plan: string, startAfter: boolean, ctx: CallContext): Promise<ProviderServer>;
  /** Console access; throws EngineError CONSOLE_UNSUPPORTED when `supportsConsole` is false. */
  requestConsole(providerId: string, ctx: CallContext): Promise<ConsoleAccess>;
  listRegions(ctx: CallContext): Promise<CatalogRegion[]>;
  listPlans(ctx: CallContext): Promise<CatalogPlan[]>;
  listImages(ctx: CallContext): Promise<CatalogImage[]>;
}

export function markerTag(operationId: string): string {
  return `pe-op:${operationId}`;
}
