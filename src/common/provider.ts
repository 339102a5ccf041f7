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

/**
 * What an operation waits for at its provider (a server booting, an action running, a delete
 * finishing, a power state settling). Plain JSON: it is kept in Redis while the operation is
 * parked, and one watcher per account checks many of them with one listing.
 */
export interface ServerWait {
  providerId: string;
  /**
   * running: running with its public address (when the provider gives one);
   * stopped: powered off and settled; gone: deleted (404);
   * settled: no action holds it and it is in a status it keeps (running or stopped).
   */
  until: 'running' | 'stopped' | 'gone' | 'settled';
  /** Provider actions (DigitalOcean, Hetzner) that must end too; one ending in error fails the wait. */
  actionIds?: string[];
  /** The plan the server must show (a resize the provider carries out without an action object). */
  plan?: string;
  /** For progress: "droplet 123 to become active". */
  label: string;
  /** When the wait began (epoch ms); adapters look harder (an action's own state) at waits that run long. */
  since?: number;
}

/** One watcher look at one wait. */
export type WaitCheck =
  /** `status` is the provider's own word for where the server is, for progress. */
  | { state: 'waiting'; status: string }
  /** `server` is null only when waiting `until: 'gone'`. */
  | { state: 'done'; server: ProviderServer | null }
  | { state: 'failed'; code: string; message: string };

/**
 * One move toward a goal (delete, power action, resize): the adapter reads where the server
 * is, sends at most one mutation, and says what to wait for and whether to be called again
 * after the wait. Every move is decided from the server's current state, so calling it again
 * after a crash never skips or repeats a finished stage.
 */
export interface StepOutcome {
  wait: ServerWait | null;
  /** Call the same step again once the wait is over. */
  again: boolean;
  /** What this move did, for progress ("powering off droplet 123 before resizing it"). */
  note?: string;
  /** Delete only: false when the server was already gone. */
  existed?: boolean;
}

/** A run that began the same move before this one (epoch ms) and may have reached the provider. */
export interface EarlierAttempt {
  since: number;
}

export interface CreateOutcome {
  server: ProviderServer;
  /** What to wait for before the server is running; null when it already is. */
  wait: ServerWait | null;
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
  /** Sends the create and returns as soon as the provider accepted it (not yet running), with what to wait for. */
  createServer(input: CreateServerInput, ctx: CallContext): Promise<CreateOutcome>;
  /** What to wait for before a server found by its marker (an earlier attempt's) is running; null when it is. */
  runningWait(server: ProviderServer): ServerWait | null;
  /** One move of a delete; `again` until the server is gone or on its way. */
  deleteStep(providerId: string, ctx: CallContext): Promise<StepOutcome>;
  /**
   * One move of a power action; the action is sent at most once per call chain that ends with
   * `again: false`. With `earlier`, a run that began this same move at `earlier.since` may have
   * sent it before dying: the adapter looks for that action first (the server's action list
   * where the provider has one) and waits for it instead of sending it again.
   */
  powerStep(providerId: string, action: PowerAction, ctx: CallContext, earlier?: EarlierAttempt): Promise<StepOutcome>;
  /** One move of a resize (power off, change plan, power on as the provider needs). */
  resizeStep(providerId: string, plan: string, startAfter: boolean, ctx: CallContext): Promise<StepOutcome>;
  /**
   * Looks at many waits with the fewest requests the provider's API allows (its server
   * listing, its action listing), answering one WaitCheck per wait, in order.
   */
  checkWaits(waits: ServerWait[], ctx: CallContext): Promise<WaitCheck[]>;
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
  /**
   * Usage series from the provider's own monitoring API, when it has one (absent otherwise:
   * UpCloud offers none for servers). Its requests draw on the account's request budget at
   * poll priority, so readings give way to real work when the budget runs low.
   */
  metrics?(providerId: string, range: MetricsRange, ctx: CallContext): Promise<ServerMetrics>;
}

/** The time range of a metrics read. */
export interface MetricsRange {
  start: Date;
  end: Date;
  /** Seconds between points, when the caller asks for a resolution; the provider may not honour it (see ServerMetrics.step_seconds). */
  stepSeconds?: number;
}

/**
 * The normalized series names, each in one unit whatever the provider says: `cpu_percent`
 * (0–100 of the whole server), `memory_used_bytes`, `memory_total_bytes`,
 * `filesystem_used_bytes`, `filesystem_size_bytes`, `disk_read_bytes_per_second`,
 * `disk_write_bytes_per_second`, `disk_read_iops`, `disk_write_iops`,
 * `network_in_bytes_per_second`, `network_out_bytes_per_second`,
 * `network_in_packets_per_second`, `network_out_packets_per_second`, `network_in_bytes_per_day`,
 * `network_out_bytes_per_day`.
 */
export const METRIC_NAMES = [
  'cpu_percent',
  'memory_used_bytes',
  'memory_total_bytes',
  'filesystem_used_bytes',
  'filesystem_size_bytes',
  'disk_read_bytes_per_second',
  'disk_write_bytes_per_second',
  'disk_read_iops',
  'disk_write_iops',
  'network_in_bytes_per_second',
  'network_out_bytes_per_second',
  'network_in_packets_per_second',
  'network_out_packets_per_second',
  'network_in_bytes_per_day',
  'network_out_bytes_per_day',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

export interface MetricSeries {
  name: MetricName;
  unit: 'percent' | 'bytes' | 'bytes/s' | 'iops' | 'packets/s' | 'bytes/day';
  /** Oldest first: [ISO time, value]. */
  points: Array<[string, number]>;
}

export interface ServerMetrics {
  /** The series the provider answered, each possibly empty (nothing recorded in the range). */
  series: MetricSeries[];
  /** Seconds between points as the provider answered them; null when it varies or is a day. */
  step_seconds: number | null;
  /** What this provider's API does not offer, each with why (`memory_used_bytes`: "Hetzner's metrics have no memory series"). */
  unavailable: Array<{ metric: MetricName; reason: string }>;
  /** The provider endpoint(s) read, in its own terms. */
  source: string;
  /** Anything a reader should know about the figures (DigitalOcean: the agent must be installed). */
  note?: string;
}

export function markerTag(operationId: string): string {
  return `pe-op:${operationId}`;
}
