/**
 * The one typed configuration of every process, read from the environment (and an optional
 * `.env`, loaded by the entry points) and checked at boot: a bad or missing setting stops
 * the process with a message that names it.
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { ProviderName } from '../common/provider.js';
import { parseMeshPeers, type MeshPeer } from './udc/peers.js';
import { redisSentinelSettings, type RedisSentinelSettings } from './redis-sentinel-settings.js';
import { redisClusterSettings, slotPrefix, type RedisClusterSettings } from './redis-cluster-settings.js';
import { DEFAULT_LIST_SCAN_BUDGET } from './operations/list-script.js';

export interface ConfiguredUser {
  username: string;
  role: Role;
  passwordHash: string;
  /** The workspaces the user is a member of, with `role` in each; ignored for an admin (global). */
  workspaces: string[];
}

/** From most to least: a role holds every permission of the roles after it (see auth/permissions.ts). */
export type Role = 'admin' | 'operator' | 'developer' | 'viewer';

/** Where a provider's API is and the credential it takes (a bearer token). */
export interface ProviderCredentials {
  baseUrl: string;
  token: string;
}

/** UpCloud takes a bearer token or HTTP Basic with an API user's name and password. */
export interface UpCloudCredentials {
  baseUrl: string;
  token?: string;
  username?: string;
  password?: string;
}

export interface Config {
  /** API listen port and host. */
  port: number;
  host: string;
  /** Redis the system uses; null when the start command should run its own `redis-server` (or `redisSentinel` is set). */
  redisUrl: string | null;
  /**
   * REDIS_SENTINELS and companions: a Sentinel-managed primary, asked for at every (re)connect
   * so a failover is followed. Null when unset; never together with `redisUrl`.
   */
  redisSentinel: RedisSentinelSettings | null;
  /**
   * REDIS_CLUSTER_NODES (and REDIS_PASSWORD): a Redis Cluster, its slot map learned from these
   * nodes. Null when unset; never together with `redisUrl` or `redisSentinel`.
   */
  redisCluster: RedisClusterSettings | null;
  /** Port of the managed `redis-server` when `redisUrl` is null. */
  managedRedisPort: number;
  /**
   * How often the managed `redis-server` fsyncs its append-only file (`appendfsync`): `always`
   * before every write is acknowledged, so an accepted request survives a power loss. Has no
   * effect on a Redis given by `redisUrl`, whose durability is its own configuration.
   */
  managedRedisFsync: ManagedRedisFsync;
  /** Directory for the managed Redis's AOF and other local state. */
  dataDir: string;
  /**
   * CONFIG_FILE: the settings file (`KEY=value` lines) the entry points read beside the
   * environment, which wins over it; `POST /reload-config` reads it again. Absolute; default `./.env`.
   */
  configFile: string;
  /**
   * Prefix of every Redis key the engine writes (BullMQ's included), so systems can share a
   * Redis: KEY_PREFIX, on a Redis Cluster wrapped in braces as every key's hash tag (see slotPrefix).
   */
  keyPrefix: string;
  auth: {
    /** HS256 secret; null means generate once and keep it in Redis for all API replicas. */
    jwtSecret: string | null;
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
    /** Initial admin password, used only when no admin exists yet. */
    adminPassword: string | null;
    /** Bootstrap users: written to Redis when absent, disabled there once dropped from the setting. */
    users: ConfiguredUser[];
    /** RS256 tokens of a trusted issuer (the mesh registry), verified through its JWKS; null when not wired. */
    jwks: { url: string; issuer: string; audience: string } | null;
    /** How long the audit log keeps an entry. */
    auditRetentionSeconds: number;
  };
  /** Workspaces created at boot when absent, so an empty system has somewhere to work. */
  workspaces: string[];
  providers: {
    digitalocean: ProviderCredentials | null;
    hetzner: ProviderCredentials | null;
    vultr: ProviderCredentials | null;
    upcloud: UpCloudCredentials | null;
  };
  worker: {
    concurrency: number;
    /** How long a job lock lives without renewal; a killed worker's job is re-run after about this long. */
    lockDurationMs: number;
    /** Provider poll interval while waiting for a server or an action. */
    pollIntervalMs: number;
    /** Per-attempt timeout of one provider HTTP request. */
    requestTimeoutMs: number;
    /** Provider HTTP requests one process keeps in flight per provider. */
    providerConcurrency: number;
    /** Attempts per job for retryable provider failures (5xx, timeouts). */
    attempts: number;
    backoffDelayMs: number;
    /** How often the sweep looks for accepted operations with no job. */
    sweepIntervalMs: number;
    /** How often the inventory is compared with what the providers report. */
    reconcileIntervalMs: number;
    /** How long an operation of each type may run, from its first claim, before it fails with TIMEOUT and is cleaned up. */
    deadlinesMs: Record<DeadlineType, number>;
    /** Shortest and longest pause between two looks of a provider account's watcher at its waiting servers. */
    watchMinIntervalMs: number;
    watchMaxIntervalMs: number;
  };
  /**
   * How long a normal cancel of a running operation must have been given (FORCE_CANCEL_GRACE_MS,
   * from `cancel_requested_at`) before `POST /v1/operations/{id}/cancel {"force": true}` may end
   * it `cancelled` without waiting for its worker.
   */
  forceCancelGraceMs: number;
  logLevel: string;
  /**
   * How long a process may take to stop after SIGTERM/SIGINT (SHUTDOWN_TIMEOUT_MS): workers let
   * their active jobs finish until then and close at once when it passes; the start command
   * waits a little longer than this for each child before it kills it.
   */
  shutdownTimeoutMs: number;
  /** How long the provider catalogue (regions, plans, images) is cached. */
  catalogTtlSeconds: number;
  /** How long an Idempotency-Key and the answer it replays are kept. */
  idempotencyTtlSeconds: number;
  /**
   * How many operation rows one page of `GET /v1/operations` may read (whole buckets of them: up to one bucket more)
   * (OPERATIONS_LIST_SCAN_BUDGET): bounds a page's work in Redis whatever the filters; a page
   * under a rare filter may come back short with a `next` cursor.
   */
  operationsListScanBudget: number;
  /** How long finished operations and the events stream are kept, and what is archived first (see core/retention/). */
  retention: RetentionSettings;
  /** Run the sandbox cloud when no provider credentials are configured (start command only). */
  sandbox: { port: number };
  /** How the workers reach servers to run task service scripts. */
  ssh: SshSettings;
  /** What the API allows each caller (src/api/middleware/rate-limit.ts), held in Redis across replicas. */
  apiLimits: ApiLimitSettings;
  /**
   * Each provider account's request budget, shared by every process through Redis
   * (src/core/rate-budget/); null means no self-limiting (a 429 still pauses every process).
   */
  rateLimits: Record<ProviderName, RateLimitWindow[] | null>;
  /**
   * The key every stored secret is encrypted with (src/core/secrets/): ENGINE_SECRET_KEY, the
   * file ENGINE_SECRET_KEY_FILE names, or `<DATA_DIR>/secret.key`, made on first start.
   */
  secretKey: SecretKeySetting;
  /**
   * A bearer token a Prometheus scraper may send to `GET /metrics` (METRICS_TOKEN, at least 16
   * characters); without it the scrape needs a token or API key holding `system_metrics`.
   */
  metricsToken: string | null;
  /**
   * How often each worker process and API replica writes its own engine series to Redis for
   * `GET /metrics` to sum (METRICS_PUSH_MS); a process's last write lapses after three of these
   * once it stops.
   */
  metricsPushMs: number;
  /** This engine's identity as a droplet of a UDC v1.0 mesh (`/health`, `/capabilities`, `/version`, …). */
  droplet: DropletSettings;
  /** How many recent log records `GET /logs` keeps in Redis (UDC_LOG_ENTRIES), newest first. */
  udcLogEntries: number;
  /**
   * The droplets API (`/api/v1/droplets`): DROPLETS_PROVIDER, the provider droplets are made on
   * (digitalocean unless set), and DROPLETS_DEFAULT_PROJECT, the workspace a create without
   * `project_id` goes to (`default` unless set).
   */
  dropletsApi: { provider: ProviderName; defaultProject: string };
  /** OpenTelemetry traces (src/core/telemetry.ts); null when no OTLP endpoint is set, and then nothing is loaded. */
  telemetry: TelemetrySettings | null;
  /** HTTP deliveries the workers make for the engine: mesh messages (`POST /send`) and webhooks (src/core/outbox/). */
  outbox: OutboxSettings;
  /** Per-workspace webhook subscriptions (src/core/webhooks/). */
  webhooks: WebhookSettings;
}

export interface TelemetrySettings {
  /** Where spans are POSTed: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, else OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`. */
  tracesUrl: string;
  /** OTEL_SERVICE_NAME; null means `provisioning-engine-api` or `provisioning-engine-worker` by process. */
  serviceName: string | null;
}

export interface DropletSettings {
  /** DROPLET_ID: the droplet's number in the mesh. */
  id: number;
  /** DROPLET_NAME. */
  name: string;
  /** DROPLET_STEWARD: who answers for this droplet. */
  steward: string;
  /** DROPLET_ENDPOINT: the URL other droplets reach this API at. */
  endpoint: string;
  /** DROPLET_ENVIRONMENT: `development`, `staging`, `production`, … */
  environment: string;
  /** REGISTRY_URL: the mesh registry; null when this engine is not in a mesh. */
  registryUrl: string | null;
  /** BUILD_COMMIT and BUILD_DATE, for a deployment without a `.git` directory; null when unset. */
  buildCommit: string | null;
  buildDate: string | null;
  /** MESH_PEERS: the droplets this one messages and whose signatures it verifies (see udc/peers.ts). */
  meshPeers: MeshPeer[];
  /**
   * MESH_TOKEN: a bearer token the registry issued this droplet, sent to peers and the registry;
   * null means each call carries a short-lived token this droplet signs itself. A secret: never logged.
   */
  meshToken: string | null;
  /** DROPLET_SIGNING_KEY_FILE: the droplet's RSA private key (PEM, mode 0600); null means one made once and kept sealed in Redis. */
  signingKeyFile: string | null;
  /** REGISTRY_HEARTBEAT_MS: how often a registered droplet tells the registry it is alive. */
  registryHeartbeatMs: number;
}

/** Where the engine's secret key comes from; read (and, by default, made) by src/core/secrets/secret-key.ts. */
export type SecretKeySetting =
  /** 32 bytes given in the environment (base64 or hex). */
  | { source: 'ENGINE_SECRET_KEY'; key: Buffer }
  /** A file the operator provides; refused when its group or others may read it. */
  | { source: 'ENGINE_SECRET_KEY_FILE'; file: string }
  /** `<DATA_DIR>/secret.key`, created with mode 0600 by the first process that needs it. */
  | { source: 'DATA_DIR'; file: string };

/**
 * At most `limit` requests in any rolling `windowMs`. Hetzner's single window is read as its
 * token bucket: `limit` tokens refilling over `windowMs` (3600/1h = +1 per second).
 */
export interface RateLimitWindow {
  limit: number;
  windowMs: number;
}

export interface SshSettings {
  /** Login on the servers; scripts run through `sudo -n` unless it is root. */
  user: string;
  /** The engine's key from a file instead of the one it generates and keeps in Redis. */
  privateKeyFile: string | null;
  /**
   * Connect here instead of to each server's address, passing the address in the user name
   * (`root+198.18.0.2`): how the sandbox's single SSH endpoint stands in for every server.
   */
  endpointOverride: { host: string; port: number } | null;
  connectTimeoutMs: number;
  /** Tries per server before it counts as unreachable (a fresh server may not run sshd yet). */
  connectAttempts: number;
  /** Servers one operation runs a script on at once. */
  parallelism: number;
}

/** Redis's `appendfsync` policies. */
export const MANAGED_REDIS_FSYNC_POLICIES = ['always', 'everysec', 'no'] as const;
export type ManagedRedisFsync = (typeof MANAGED_REDIS_FSYNC_POLICIES)[number];

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    readonly problem: string,
  ) {
    super(`configuration: ${setting} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | null {
  const v = env[name];
  return v === undefined || v.trim() === '' ? null : v.trim();
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got '${raw}'`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = str(env, name);
  if (raw === null) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got '${raw}'`);
  return raw as T;
}

function url(env: Env, name: string, fallback: string | null): string | null {
  const raw = str(env, name) ?? fallback;
  if (raw === null) return null;
  try {
    const u = new URL(raw);
    if (!/^(https?|rediss?):$/.test(u.protocol)) throw new Error('protocol');
  } catch {
    throw new ConfigError(name, `must be an http(s) or redis URL, got '${raw}'`);
  }
  return raw.replace(/\/+$/, '');
}

export const ROLES: readonly Role[] = ['admin', 'operator', 'developer', 'viewer'];

const WORKSPACE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const DROPLET_PROVIDERS: readonly ProviderName[] = ['digitalocean', 'hetzner', 'vultr', 'upcloud'];

/** DROPLETS_PROVIDER and DROPLETS_DEFAULT_PROJECT (see Config.dropletsApi). */
function dropletsApiSettings(env: Env): Config['dropletsApi'] {
  const defaultProject = str(env, 'DROPLETS_DEFAULT_PROJECT') ?? 'default';
  if (!WORKSPACE_NAME.test(defaultProject)) throw new ConfigError('DROPLETS_DEFAULT_PROJECT', `must be a workspace name (lower-case letters, digits, - and _), got '${defaultProject}'`);
  return { provider: oneOf(env, 'DROPLETS_PROVIDER', DROPLET_PROVIDERS, 'digitalocean'), defaultProject };
}

function parseWorkspaceList(raw: string, separator: string, where: string): string[] {
  const names = raw.split(separator).map((n) => n.trim()).filter((n) => n.length > 0);
  for (const name of names) if (!WORKSPACE_NAME.test(name)) throw new ConfigError(where, `has an invalid workspace name '${name}'`);
  return [...new Set(names)];
}

/**
 * `AUTH_USERS=alice:operator:$2b$10$…:production+staging,bob:viewer:$2b$10$…` — bcrypt hashes
 * contain neither `:` nor `,`; the workspaces (joined by `+`) default to `default`.
 */
function parseUsers(raw: string | null): ConfiguredUser[] {
  if (raw === null) return [];
  return raw.split(',').map((entry, i) => {
    const [username, role, passwordHash, workspaces, ...rest] = entry.trim().split(':');
    const where = `AUTH_USERS entry ${i + 1}`;
    if (rest.length || !username || !role || !passwordHash) {
      throw new ConfigError(where, "must look like 'name:role:bcrypt-hash[:workspace+workspace]'");
    }
    if (!/^[a-zA-Z0-9_.-]{1,64}$/.test(username)) throw new ConfigError(where, `has an invalid username '${username}'`);
    if (!ROLES.includes(role as Role)) throw new ConfigError(where, `has role '${role}', expected one of ${ROLES.join(', ')}`);
    if (!/^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/.test(passwordHash)) throw new ConfigError(where, 'must carry a bcrypt hash, not a password');
    return { username, role: role as Role, passwordHash, workspaces: workspaces === undefined ? ['default'] : parseWorkspaceList(workspaces, '+', where) };
  });
}

/** `JWKS_URL` with its issuer and audience: all three, or none. */
function jwksSettings(env: Env): Config['auth']['jwks'] {
  const jwksUrl = url(env, 'JWKS_URL', null);
  const issuer = str(env, 'JWKS_ISSUER');
  const audience = str(env, 'JWKS_AUDIENCE');
  if (jwksUrl === null) {
    if (issuer !== null || audience !== null) throw new ConfigError(issuer !== null ? 'JWKS_ISSUER' : 'JWKS_AUDIENCE', 'needs JWKS_URL');
    return null;
  }
  if (issuer === null) throw new ConfigError('JWKS_ISSUER', 'must be set with JWKS_URL: tokens of any other issuer are refused');
  if (audience === null) throw new ConfigError('JWKS_AUDIENCE', 'must be set with JWKS_URL: tokens for any other audience are refused');
  return { url: jwksUrl, issuer, audience };
}

function dropletSettings(env: Env, port: number): DropletSettings {
  const name = str(env, 'DROPLET_NAME') ?? 'provisioning-engine';
  if (name.length > 128) throw new ConfigError('DROPLET_NAME', 'must be at most 128 characters');
  const steward = str(env, 'DROPLET_STEWARD') ?? 'unassigned';
  if (steward.length > 128) throw new ConfigError('DROPLET_STEWARD', 'must be at most 128 characters');
  const environment = str(env, 'DROPLET_ENVIRONMENT') ?? str(env, 'NODE_ENV') ?? 'development';
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(environment)) throw new ConfigError('DROPLET_ENVIRONMENT', `may hold only letters, digits, '.', '-' and '_' (at most 32), got '${environment}'`);
  const endpoint = url(env, 'DROPLET_ENDPOINT', `http://localhost:${port}`)!;
  if (!/^https?:/.test(endpoint)) throw new ConfigError('DROPLET_ENDPOINT', `must be an http(s) URL, got '${endpoint}'`);
  const registryUrl = url(env, 'REGISTRY_URL', null);
  if (registryUrl !== null && !/^https?:/.test(registryUrl)) throw new ConfigError('REGISTRY_URL', `must be an http(s) URL, got '${registryUrl}'`);
  const buildCommit = str(env, 'BUILD_COMMIT');
  if (buildCommit !== null && !/^[A-Za-z0-9._-]{1,64}$/.test(buildCommit)) throw new ConfigError('BUILD_COMMIT', `must be a commit hash or tag (letters, digits, '.', '-', '_'), got '${buildCommit}'`);
  const buildDate = str(env, 'BUILD_DATE');
  if (buildDate !== null && (!/^\d{4}-\d{2}-\d{2}/.test(buildDate) || Number.isNaN(Date.parse(buildDate)))) throw new ConfigError('BUILD_DATE', `must be a date like 2025-11-08 (or a full ISO 8601 time), got '${buildDate}'`);
  let meshPeers: MeshPeer[];
  try {
    meshPeers = parseMeshPeers(str(env, 'MESH_PEERS'));
  } catch (err) {
    throw new ConfigError('MESH_PEERS', (err as Error).message);
  }
  const meshToken = str(env, 'MESH_TOKEN');
  if (meshToken !== null && !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(meshToken)) throw new ConfigError('MESH_TOKEN', 'must be a JWT (three base64url parts joined by dots)');
  const signingKeyFile = str(env, 'DROPLET_SIGNING_KEY_FILE');
  if (signingKeyFile !== null && !existsSync(signingKeyFile)) throw new ConfigError('DROPLET_SIGNING_KEY_FILE', `names a file that does not exist: '${signingKeyFile}'`);
  const registryHeartbeatMs = int(env, 'REGISTRY_HEARTBEAT_MS', 30000, 100, 3_600_000);
  return {
    id: int(env, 'DROPLET_ID', 0, 0, 2_147_483_647),
    name,
    steward,
    endpoint,
    environment,
    registryUrl,
    buildCommit,
    buildDate,
    meshPeers,
    meshToken,
    signingKeyFile: signingKeyFile === null ? null : resolve(signingKeyFile),
    registryHeartbeatMs,
  };
}

export interface OutboxSettings {
  /** OUTBOX_ATTEMPTS: tries per delivery before it is `failed`; the default, with the backoff's, spans about an hour. */
  attempts: number;
  /** OUTBOX_BACKOFF_MS: the first retry's delay; each next one doubles (with jitter), so a target down for a while still gets it. */
  backoffMs: number;
  /** OUTBOX_TIMEOUT_MS: how long one attempt may take, connecting included. */
  timeoutMs: number;
  /** SEND_WAIT_MS: how long `POST /send` waits for the first attempt before it answers `queued`. */
  sendWaitMs: number;
}

export interface WebhookSettings {
  /**
   * WEBHOOK_ALLOW_PRIVATE_TARGETS: whether a webhook may point at loopback, private or
   * link-local addresses. Off by default: a workspace member must not reach the engine's own network.
   */
  allowPrivateTargets: boolean;
  /**
   * WEBHOOK_CLAIM_IDLE_MS: how long an event a dispatcher read stays unacknowledged (its worker
   * died) before another worker's dispatcher takes it over.
   */
  claimIdleMs: number;
}

function outboxSettings(env: Env): OutboxSettings {
  return {
    attempts: int(env, 'OUTBOX_ATTEMPTS', 12, 1, 100),
    backoffMs: int(env, 'OUTBOX_BACKOFF_MS', 2000, 1, 3_600_000),
    timeoutMs: int(env, 'OUTBOX_TIMEOUT_MS', 10000, 100, 120_000),
    sendWaitMs: int(env, 'SEND_WAIT_MS', 2000, 0, 30_000),
  };
}

export interface RetentionSettings {
  /**
   * OPERATION_RETENTION (`30d`, `12h`, `90m`, `45s`; `off` keeps everything): how long a
   * finished operation is kept whole before the retention job removes it with its indexes,
   * events and logs. 30 days by default, AIP-151's rule of thumb for finished operations.
   */
  operationsMs: number | null;
  /** EVENTS_RETENTION: the events stream is trimmed by age to this (default: OPERATION_RETENTION); null keeps only the count cap. */
  eventsMs: number | null;
  /** OPERATION_ARCHIVE: append each operation to `<DATA_DIR>/archive/operations-YYYY-MM-DD.ndjson.gz` before removing it. */
  archive: boolean;
  /** RETENTION_INTERVAL_MS: how often the retention job runs (one run at a time across every worker). */
  intervalMs: number;
  /**
   * RETENTION_CLOCK_OFFSET_MS: added to the clock the retention job reads, for tests and
   * drills (what the job would remove some days from now); 0 in production.
   */
  clockOffsetMs: number;
}

const DURATION_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `off`, or a whole number and a unit (s, m, h, d), at least one second and at most ten years. */
function durationOrOff(env: Env, name: string, fallback: string | null): number | null {
  const raw = str(env, name) ?? fallback;
  if (raw === null || /^off$/i.test(raw)) return null;
  const match = /^(\d+)\s*([smhd])$/.exec(raw);
  if (!match) throw new ConfigError(name, `must be a duration such as 30d, 12h or 90m, or off; got '${raw}'`);
  const ms = Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
  if (ms < 1000 || ms > 3650 * 86_400_000) throw new ConfigError(name, `must be between 1s and 3650d, got '${raw}'`);
  return ms;
}

function retentionSettings(env: Env): RetentionSettings {
  const operationsMs = durationOrOff(env, 'OPERATION_RETENTION', '30d');
  const eventsMs = str(env, 'EVENTS_RETENTION') === null ? operationsMs : durationOrOff(env, 'EVENTS_RETENTION', null);
  // Events are a finished operation's history: trimming them later than the operation goes keeps nothing of use.
  if (eventsMs !== null && operationsMs !== null && eventsMs > operationsMs) {
    throw new ConfigError('EVENTS_RETENTION', 'must not be longer than OPERATION_RETENTION (the events of a removed operation go with it)');
  }
  return {
    operationsMs,
    eventsMs,
    archive: flag(env, 'OPERATION_ARCHIVE', false),
    intervalMs: int(env, 'RETENTION_INTERVAL_MS', 300_000, 200, 86_400_000),
    clockOffsetMs: int(env, 'RETENTION_CLOCK_OFFSET_MS', 0, 0, 3650 * 86_400_000),
  };
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = str(env, name);
  if (raw === null) return fallback;
  if (/^(true|on|yes|1)$/i.test(raw)) return true;
  if (/^(false|off|no|0)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got '${raw}'`);
}

function telemetrySettings(env: Env): TelemetrySettings | null {
  const traces = url(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', null);
  const base = url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', null);
  for (const [name, value] of [['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', traces], ['OTEL_EXPORTER_OTLP_ENDPOINT', base]] as const) {
    if (value !== null && !/^https?:\/\//.test(value)) throw new ConfigError(name, `must be an http(s) URL, got '${value}'`);
  }
  const serviceName = str(env, 'OTEL_SERVICE_NAME');
  if (serviceName !== null && serviceName.length > 128) throw new ConfigError('OTEL_SERVICE_NAME', 'must be at most 128 characters');
  const tracesUrl = traces ?? (base === null ? null : `${base.replace(/\/+$/, '')}/v1/traces`);
  return tracesUrl === null ? null : { tracesUrl, serviceName };
}

/** The logger's levels (winston's npm levels), most severe first. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;

/** The settings file, absolute: one named by CONFIG_FILE must exist (a missing `./.env` is no file at all). */
export function configFileSetting(env: Env): string {
  const named = str(env, 'CONFIG_FILE');
  if (named !== null && !existsSync(named)) throw new ConfigError('CONFIG_FILE', `names a file that does not exist: '${named}'`);
  return resolve(named ?? '.env');
}

function metricsToken(env: Env): string | null {
  const token = str(env, 'METRICS_TOKEN');
  if (token !== null && token.length < 16) throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters');
  return token;
}

export function loadConfig(env: Env = process.env): Config {
  const jwtSecret = str(env, 'JWT_SECRET');
  if (jwtSecret !== null && jwtSecret.length < 32) throw new ConfigError('JWT_SECRET', 'must be at least 32 characters');
  const adminPassword = str(env, 'ADMIN_PASSWORD');
  if (adminPassword !== null && adminPassword.length < 12) throw new ConfigError('ADMIN_PASSWORD', 'must be at least 12 characters');
  const rawKeyPrefix = str(env, 'KEY_PREFIX') ?? 'pe';
  if (!/^[a-zA-Z0-9_-]{1,32}$/.test(rawKeyPrefix)) throw new ConfigError('KEY_PREFIX', 'may hold only letters, digits, - and _ (at most 32)');
  const redisCluster = redisClusterSettings(env, url(env, 'REDIS_URL', null));
  const keyPrefix = slotPrefix(rawKeyPrefix, redisCluster);

  const bearer = (tokenVar: string, urlVar: string, defaultUrl: string): ProviderCredentials | null => {
    const token = str(env, tokenVar);
    const baseUrl = url(env, urlVar, defaultUrl)!;
    return token ? { baseUrl, token } : null;
  };
  const upcloudToken = str(env, 'UPCLOUD_TOKEN');
  const upcloudUser = str(env, 'UPCLOUD_USERNAME');
  const upcloudPassword = str(env, 'UPCLOUD_PASSWORD');
  if ((upcloudUser === null) !== (upcloudPassword === null)) {
    throw new ConfigError(upcloudUser === null ? 'UPCLOUD_USERNAME' : 'UPCLOUD_PASSWORD', 'must be set together with the other (or use UPCLOUD_TOKEN)');
  }
  const upcloudUrl = url(env, 'UPCLOUD_API_URL', 'https://api.upcloud.com/1.3')!;

  return {
    port: int(env, 'PORT', 8083, 0, 65535),
    host: str(env, 'HOST') ?? '0.0.0.0',
    redisUrl: url(env, 'REDIS_URL', null),
    redisSentinel: redisSentinelSettings(env, url(env, 'REDIS_URL', null)),
    redisCluster,
    managedRedisPort: int(env, 'MANAGED_REDIS_PORT', 6390, 1, 65535),
    managedRedisFsync: oneOf(env, 'MANAGED_REDIS_FSYNC', MANAGED_REDIS_FSYNC_POLICIES, 'always'),
    dataDir: str(env, 'DATA_DIR') ?? './var',
    configFile: configFileSetting(env),
    keyPrefix,
    auth: {
      jwtSecret,
      issuer: str(env, 'JWT_ISSUER') ?? 'provisioning-engine',
      audience: str(env, 'JWT_AUDIENCE') ?? 'provisioning-api',
      accessTtlSeconds: int(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 60, 86400),
      refreshTtlSeconds: int(env, 'REFRESH_TOKEN_TTL_SECONDS', 7 * 86400, 60, 90 * 86400),
      adminPassword,
      users: parseUsers(str(env, 'AUTH_USERS')),
      jwks: jwksSettings(env),
      auditRetentionSeconds: int(env, 'AUDIT_RETENTION_DAYS', 365, 1, 3650) * 86400,
    },
    workspaces: parseWorkspaceList(str(env, 'WORKSPACES') ?? 'default', ',', 'WORKSPACES'),
    providers: {
      digitalocean: bearer('DIGITALOCEAN_TOKEN', 'DIGITALOCEAN_API_URL', 'https://api.digitalocean.com/v2'),
      hetzner: bearer('HCLOUD_TOKEN', 'HCLOUD_API_URL', 'https://api.hetzner.cloud/v1'),
      vultr: bearer('VULTR_API_KEY', 'VULTR_API_URL', 'https://api.vultr.com/v2'),
      upcloud:
        upcloudToken !== null
          ? { baseUrl: upcloudUrl, token: upcloudToken }
          : upcloudUser !== null
            ? { baseUrl: upcloudUrl, username: upcloudUser, password: upcloudPassword! }
            : null,
    },
    worker: {
      concurrency: int(env, 'WORKER_CONCURRENCY', 20, 1, 1000),
      lockDurationMs: int(env, 'WORKER_LOCK_MS', 30000, 1000, 600000),
      pollIntervalMs: int(env, 'PROVIDER_POLL_MS', 2000, 10, 60000),
      requestTimeoutMs: int(env, 'PROVIDER_TIMEOUT_MS', 15000, 100, 600000),
      providerConcurrency: int(env, 'PROVIDER_CONCURRENCY', 8, 1, 1000),
      attempts: int(env, 'JOB_ATTEMPTS', 5, 1, 50),
      backoffDelayMs: int(env, 'JOB_BACKOFF_MS', 1000, 1, 600000),
      sweepIntervalMs: int(env, 'SWEEP_INTERVAL_MS', 15000, 100, 3600000),
      reconcileIntervalMs: int(env, 'RECONCILE_INTERVAL_MS', 300000, 200, 86400000),
      deadlinesMs: deadlines(str(env, 'OPERATION_DEADLINES')),
      watchMinIntervalMs: int(env, 'WATCH_MIN_INTERVAL_MS', 1000, 10, 600000),
      watchMaxIntervalMs: int(env, 'WATCH_MAX_INTERVAL_MS', 15000, 10, 3600000),
    },
    forceCancelGraceMs: int(env, 'FORCE_CANCEL_GRACE_MS', 30000, 0, 86_400_000),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 30000, 0, 3600000),
    catalogTtlSeconds: int(env, 'CATALOG_TTL_SECONDS', 3600, 1, 7 * 86400),
    idempotencyTtlSeconds: int(env, 'IDEMPOTENCY_TTL_SECONDS', 86400, 1, 30 * 86400),
    operationsListScanBudget: int(env, 'OPERATIONS_LIST_SCAN_BUDGET', DEFAULT_LIST_SCAN_BUDGET, 201, 100_000),
    retention: retentionSettings(env),
    sandbox: { port: int(env, 'SANDBOX_PORT', 8090, 0, 65535) },
    ssh: sshSettings(env),
    apiLimits: apiLimitSettings(env),
    secretKey: secretKeySetting(env),
    metricsToken: metricsToken(env),
    metricsPushMs: int(env, 'METRICS_PUSH_MS', 5000, 100, 300000),
    droplet: dropletSettings(env, int(env, 'PORT', 8083, 0, 65535)),
    udcLogEntries: int(env, 'UDC_LOG_ENTRIES', 1000, 10, 100_000),
    dropletsApi: dropletsApiSettings(env),
    telemetry: telemetrySettings(env),
    outbox: outboxSettings(env),
    webhooks: { allowPrivateTargets: flag(env, 'WEBHOOK_ALLOW_PRIVATE_TARGETS', false), claimIdleMs: int(env, 'WEBHOOK_CLAIM_IDLE_MS', 30000, 100, 3_600_000) },
    rateLimits: {
      digitalocean: rateLimitSetting(env, 'RATE_LIMIT_DIGITALOCEAN', '250/1m,5000/1h'),
      hetzner: rateLimitSetting(env, 'RATE_LIMIT_HETZNER', '3600/1h', { singleWindow: true }),
      vultr: rateLimitSetting(env, 'RATE_LIMIT_VULTR', '30/1s'),
      // UpCloud publishes no limit (PROVIDERS.md §4.8); 10/s is a guess meant to stay well clear of one.
      upcloud: rateLimitSetting(env, 'RATE_LIMIT_UPCLOUD', '10/1s'),
    },
  };
}

const WINDOW_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `"250/1m,5000/1h"` (requests per window; units ms, s, m, h) or `"off"`. */
function rateLimitSetting(env: Env, name: string, fallback: string, opts: { singleWindow?: boolean } = {}): RateLimitWindow[] | null {
  const raw = str(env, name) ?? fallback;
  if (raw.toLowerCase() === 'off') return null;
  const windows = raw.split(',').map((part) => {
    const match = /^(\d+)\s*\/\s*(\d*)\s*(ms|s|m|h)$/.exec(part.trim());
    if (!match) throw new ConfigError(name, `must be 'off' or requests per window like '250/1m,5000/1h', got '${raw}'`);
    const limit = Number(match[1]);
    const windowMs = Number(match[2] === '' ? 1 : match[2]) * WINDOW_UNITS_MS[match[3]!]!;
    if (limit < 1 || limit > 1_000_000) throw new ConfigError(name, `needs a limit between 1 and 1000000 requests, got ${limit}`);
    if (windowMs < 100 || windowMs > 86_400_000) throw new ConfigError(name, `needs windows between 100ms and 24h, got '${part.trim()}'`);
    return { limit, windowMs };
  });
  if (opts.singleWindow && windows.length !== 1) {
    throw new ConfigError(name, `takes one limit (the token bucket's size and refill period, e.g. '3600/1h'), got '${raw}'`);
  }
  if (new Set(windows.map((w) => w.windowMs)).size !== windows.length) throw new ConfigError(name, `names the same window twice: '${raw}'`);
  return windows;
}

/** Operation types with a deadline of their own; a workflow is bounded by its steps'. */
export type DeadlineType = 'server.create' | 'server.delete' | 'server.action' | 'server.resize' | 'taskserv.create' | 'taskserv.delete';

export const DEFAULT_DEADLINES_MS: Record<DeadlineType, number> = {
  'server.create': 15 * 60_000,
  'server.delete': 10 * 60_000,
  'server.action': 10 * 60_000,
  'server.resize': 30 * 60_000,
  'taskserv.create': 60 * 60_000,
  'taskserv.delete': 30 * 60_000,
};

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `OPERATION_DEADLINES=server.create=20m,server.delete=5m`: the types named change, the others keep their defaults. */
function deadlines(raw: string | null): Record<DeadlineType, number> {
  const out = { ...DEFAULT_DEADLINES_MS };
  if (raw === null) return out;
  for (const entry of raw.split(',')) {
    const match = /^\s*([a-z.]+)\s*=\s*(\d+)\s*(ms|s|m|h)\s*$/.exec(entry);
    if (!match) throw new ConfigError('OPERATION_DEADLINES', `entry '${entry.trim()}' must look like 'server.create=15m' (units ms, s, m, h)`);
    const type = match[1] as DeadlineType;
    if (!(type in DEFAULT_DEADLINES_MS)) throw new ConfigError('OPERATION_DEADLINES', `names unknown operation type '${type}' (one of ${Object.keys(DEFAULT_DEADLINES_MS).join(', ')})`);
    const ms = Number(match[2]) * DURATION_UNITS[match[3]!]!;
    if (ms < 100 || ms > 7 * 86_400_000) throw new ConfigError('OPERATION_DEADLINES', `deadline of ${type} must be between 100ms and 7 days`);
    out[type] = ms;
  }
  return out;
}

/** `points` requests in a fixed window of `durationSeconds` (rate-limiter-flexible's terms). */
export interface RequestLimit {
  points: number;
  durationSeconds: number;
}

export interface ApiLimitSettings {
  /** `RATE_LIMIT_AUTH`: failed logins per client address and, separately, per username; failed refreshes per address. Null: off. */
  auth: RequestLimit | null;
  /** `RATE_LIMIT_API`: requests per identity (user, API key, external subject) on every authenticated route. Null: off. */
  api: RequestLimit | null;
  /** `TRUST_PROXY`, as Express's `trust proxy` takes it: false, true, a hop count, or addresses and subnets. */
  trustProxy: boolean | number | string[];
  /** `SSE_MAX_STREAMS_PER_IDENTITY`: event streams one identity may hold open at once, across replicas. */
  sseMaxStreamsPerIdentity: number;
}

function apiLimitSettings(env: Env): ApiLimitSettings {
  return {
    auth: requestLimitSetting(env, 'RATE_LIMIT_AUTH', '5/1m'),
    api: requestLimitSetting(env, 'RATE_LIMIT_API', '600/1m'),
    trustProxy: trustProxySetting(env),
    sseMaxStreamsPerIdentity: int(env, 'SSE_MAX_STREAMS_PER_IDENTITY', 20, 1, 1_000_000),
  };
}

const LIMIT_UNITS_S: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** `"600/1m"` (requests per window of whole seconds; units s, m, h) or `"off"`. */
function requestLimitSetting(env: Env, name: string, fallback: string): RequestLimit | null {
  const raw = str(env, name) ?? fallback;
  if (raw.toLowerCase() === 'off') return null;
  const match = /^(\d+)\s*\/\s*(\d*)\s*(s|m|h)$/.exec(raw);
  if (!match) throw new ConfigError(name, `must be 'off' or requests per window like '${fallback}' (units s, m, h), got '${raw}'`);
  const points = Number(match[1]);
  const durationSeconds = Number(match[2] === '' ? 1 : match[2]) * LIMIT_UNITS_S[match[3]!]!;
  if (points < 1 || points > 1_000_000_000) throw new ConfigError(name, `needs a limit between 1 and 1000000000 requests, got ${points}`);
  if (durationSeconds < 1 || durationSeconds > 86_400) throw new ConfigError(name, `needs a window between 1s and 24h, got '${raw}'`);
  return { points, durationSeconds };
}

const TRUST_PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * `TRUST_PROXY`: `false`/`off` (the default: `X-Forwarded-For` is ignored and the client is the
 * peer address), `true` (trust every hop: only behind a proxy that overwrites the header), a
 * hop count, or a comma-separated list of proxy addresses, subnets (`10.0.0.0/8`) and Express's
 * names `loopback`, `linklocal`, `uniquelocal`.
 */
function trustProxySetting(env: Env): boolean | number | string[] {
  const raw = str(env, 'TRUST_PROXY');
  if (raw === null || /^(false|off|no)$/i.test(raw)) return false;
  if (/^(true|on|yes)$/i.test(raw)) return true;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > 32) throw new ConfigError('TRUST_PROXY', `must be at most 32 hops, got ${hops}`);
    return hops === 0 ? false : hops;
  }
  const entries = raw.split(',').map((e) => e.trim()).filter((e) => e.length > 0);
  for (const entry of entries) {
    if (TRUST_PROXY_NAMES.includes(entry)) continue;
    const [address, bits, ...rest] = entry.split('/');
    const family = isIP(address ?? '');
    const bitsOk = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (!family || !bitsOk || rest.length) {
      throw new ConfigError('TRUST_PROXY', `must be true, false, a hop count, or addresses and subnets (a.b.c.d/nn) or ${TRUST_PROXY_NAMES.join(', ')}, comma-separated; '${entry}' is none of these`);
    }
  }
  return entries;
}

function sshSettings(env: Env): SshSettings {
  const user = str(env, 'SSH_USER') ?? 'root';
  if (!/^[a-z_][a-z0-9_.-]{0,31}$/.test(user)) throw new ConfigError('SSH_USER', `must be a login name, got '${user}'`);
  const privateKeyFile = str(env, 'SSH_PRIVATE_KEY_FILE');
  if (privateKeyFile !== null && !existsSync(privateKeyFile)) throw new ConfigError('SSH_PRIVATE_KEY_FILE', `names a file that does not exist: '${privateKeyFile}'`);
  const override = str(env, 'SSH_ENDPOINT_OVERRIDE');
  let endpointOverride: SshSettings['endpointOverride'] = null;
  if (override !== null) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(override);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) throw new ConfigError('SSH_ENDPOINT_OVERRIDE', `must be host:port, got '${override}'`);
    endpointOverride = { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  }
  return {
    user,
    privateKeyFile,
    endpointOverride,
    connectTimeoutMs: int(env, 'SSH_CONNECT_TIMEOUT_MS', 20000, 100, 600000),
    connectAttempts: int(env, 'SSH_CONNECT_ATTEMPTS', 5, 1, 100),
    parallelism: int(env, 'SSH_PARALLELISM', 10, 1, 1000),
  };
}

/**
 * ENGINE_SECRET_KEY (32 bytes as base64 or hex; never echoed in a message), or
 * ENGINE_SECRET_KEY_FILE, or by default `<DATA_DIR>/secret.key`. The file's permissions and
 * content are checked when a process loads the key, at its start.
 */
function secretKeySetting(env: Env): SecretKeySetting {
  const raw = str(env, 'ENGINE_SECRET_KEY');
  const file = str(env, 'ENGINE_SECRET_KEY_FILE');
  if (raw !== null && file !== null) throw new ConfigError('ENGINE_SECRET_KEY', 'and ENGINE_SECRET_KEY_FILE are both set: give the key one way');
  if (raw !== null) {
    const key = parseSecretKey(raw);
    if (key === null) throw new ConfigError('ENGINE_SECRET_KEY', `must be 32 bytes as base64 or hex (e.g. the output of 'openssl rand -base64 32'); got ${raw.length} characters that are neither`);
    return { source: 'ENGINE_SECRET_KEY', key };
  }
  if (file !== null) {
    if (!existsSync(file)) throw new ConfigError('ENGINE_SECRET_KEY_FILE', `names a file that does not exist: '${file}'`);
    return { source: 'ENGINE_SECRET_KEY_FILE', file: resolve(file) };
  }
  return { source: 'DATA_DIR', file: resolve(str(env, 'DATA_DIR') ?? './var', 'secret.key') };
}

/** 32 bytes written as 64 hex digits or as base64 (standard or url-safe, padding optional); null otherwise. */
export function parseSecretKey(text: string): Buffer | null {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === 32) return key;
  }
  return null;
}

/** The setting a user must provide to enable a provider; named in 503 answers. */
export const PROVIDER_SETTING: Record<ProviderName, string> = {
  digitalocean: 'DIGITALOCEAN_TOKEN',
  hetzner: 'HCLOUD_TOKEN',
  vultr: 'VULTR_API_KEY',
  upcloud: 'UPCLOUD_TOKEN (or UPCLOUD_USERNAME and UPCLOUD_PASSWORD)',
};

export function configuredProviders(config: Config): ProviderName[] {
  return (Object.keys(config.providers) as ProviderName[]).filter((p) => config.providers[p] !== null);
}
