/**
 * Simulated Hetzner Cloud API v1 (servers, server actions, actions, catalogue), as an
 * Express router the sandbox server mounts at `/hetzner/v1`. Behaviour follows
 * PROVIDERS.md §2 and §5: an hcloud client pointed at this router should only notice the
 * different base URL.
 *
 * Request pipeline, in order: rate limit (counts every request, even ones that then fail
 * auth, so the headers are on every response) → auth → injected faults → JSON body →
 * settle due state transitions → routes → Hetzner-shaped errors.
 */
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import type { Clock } from '../clock.js';
import {
  HETZNER_IMAGES,
  HETZNER_LOCATIONS,
  HETZNER_SERVER_TYPES,
  findLocation,
  findServerType,
  imageJson,
  locationJson,
  serverTypeJson,
} from './catalogue.js';
import {
  HetznerApiError,
  invalidInput,
  notFound,
  sendHetznerError,
  writeHetznerFaultError,
} from './errors.js';
import { parseLabelSelector } from './labels.js';
import { type Comparator, paginate, queryValue, queryValues, sendPage, sortOrder } from './listing.js';
import { actionJson, serverJson } from './render.js';
import { hetznerServerMetrics } from './metrics.js';
import type { HetznerStoreSnapshot } from './snapshot.js';
import {
  HETZNER_SERVER_STATUSES,
  type HetznerActionRecord,
  type HetznerBehaviour,
  type HetznerServerRecord,
  type HetznerServerStatus,
  HetznerStore,
} from './store.js';
import type { Faults } from '../faults.js';
import { type TokenBucketLimits, TokenBucketRateLimiter } from '../token-bucket.js';
import { isBodyParserError, readConfigPatch } from '../config-patch.js';

export const HETZNER_MOUNT_PATH = '/hetzner/v1';

/** 3600 requests per hour per project, refilling one per second (§2.8). */
export const DEFAULT_HETZNER_RATE_LIMIT: TokenBucketLimits = { capacity: 3600, refillPerSecond: 1 };

/** What a sandbox user may tune; the rest of the options come from the sandbox itself. */
export interface HetznerSettings {
  /** How long a new server is `initializing` (the `create_server` action). Default 2000. */
  initializeDelayMs?: number;
  /** How long a server is `starting` after create or poweron. Default 1000. */
  startDelayMs?: number;
  /** How long stop, shutdown, reboot, reset and change_type run. Default 2000. */
  actionDelayMs?: number;
  /** How long a deleted server stays `deleting`. Default 1000. */
  deleteDelayMs?: number;
  /** Default 3600 tokens refilling 1/s; `false` turns limiting off entirely (no 429s and no RateLimit-* headers). */
  rateLimit?: TokenBucketLimits | false;
}

export interface HetznerSimulatorOptions extends HetznerSettings {
  clock: Clock;
  /** The one bearer token the simulated project accepts. */
  token: string;
  faults: Faults;
  serverLimit?: number;
}

export interface HetznerConfig extends HetznerBehaviour {
  rateLimit: TokenBucketLimits | false;
}

/**
 * The `hetzner` section of the sandbox state file. Behaviour (delays, limits, pending
 * failures) is configuration, not state, and is left out: it comes from the start options.
 */
export type HetznerSnapshot = HetznerStoreSnapshot;

export interface HetznerSimulator {
  readonly provider: 'hetzner';
  /** Where the server mounts `router`. */
  readonly mountPath: string;
  readonly router: Router;
  config(): HetznerConfig;
  /** Changes behaviour at run time; unknown or malformed fields throw HetznerConfigError. */
  configure(patch: unknown): HetznerConfig;
  /** Forgets servers, actions, pending failures and rate-limit history. */
  reset(): void;
  snapshot(): HetznerSnapshot;
  /** Replaces the project's resources with a snapshot's; throws SnapshotFormatError and changes nothing if it is malformed. */
  restore(section: unknown, path: string): void;
  /** Increases whenever something `snapshot()` returns has changed. */
  revision(): number;
}

export class HetznerConfigError extends Error {
  override name = 'HetznerConfigError';
}

/** `GET /actions` without `id` was removed on 2025-01-30. */
const ACTIONS_LIST_REMOVAL =
  'https://docs.hetzner.cloud/changelog#2025-01-30-listing-arbitrary-actions-in-the-actions-list-endpoint-is-removed';

const BEHAVIOUR_FIELDS = [
  'initializeDelayMs',
  'startDelayMs',
  'actionDelayMs',
  'deleteDelayMs',
  'failNextCreates',
  'failNextActions',
  'serverLimit',
] as const;

export function createHetznerSimulator(options: HetznerSimulatorOptions): HetznerSimulator {
  const behaviour: HetznerBehaviour = {
    initializeDelayMs: options.initializeDelayMs ?? 2000,
    startDelayMs: options.startDelayMs ?? 1000,
    actionDelayMs: options.actionDelayMs ?? 2000,
    deleteDelayMs: options.deleteDelayMs ?? 1000,
    failNextCreates: 0,
    failNextActions: 0,
    serverLimit: options.serverLimit ?? 1000,
  };
  const store = new HetznerStore(options.clock, behaviour);
  const initialLimits = options.rateLimit === undefined ? DEFAULT_HETZNER_RATE_LIMIT : options.rateLimit;
  const limiter = new TokenBucketRateLimiter(options.clock, initialLimits || DEFAULT_HETZNER_RATE_LIMIT);
  let rateLimitEnabled = initialLimits !== false;
  const now = (): number => options.clock.now();

  const router = Router();

  router.use((req, res, next) => {
    if (!rateLimitEnabled) return next();
    // Hetzner limits per project; every valid token here is the one project.
    const decision = limiter.hit(bearerToken(req) ?? 'anonymous');
    res.setHeader('RateLimit-Limit', String(decision.limit));
    res.setHeader('RateLimit-Remaining', String(decision.remaining));
    res.setHeader('RateLimit-Reset', String(decision.resetEpochSec));
    if (decision.allowed) return next();
    sendHetznerError(res, 429, 'rate_limit_exceeded', 'limit of requests per hour reached');
  });

  router.use((req, res, next) => {
    if (bearerToken(req) === options.token) return next();
    sendHetznerError(res, 401, 'unauthorized', 'unable to authenticate');
  });

  // Fault rules see the path as a Hetzner client sends it, starting at /v1.
  router.use(options.faults.middleware('hetzner', '/hetzner', writeHetznerFaultError));

  router.use(express.json({ type: () => true, limit: '1mb' }));

  router.use((_req, _res, next) => {
    store.settle();
    next();
  });

  // ---- catalogue ------------------------------------------------------------------------

  router.get('/locations', (req, res) => {
    const name = queryValue(req, 'name');
    const locations = HETZNER_LOCATIONS.filter((l) => name === undefined || l.name === name);
    sendPage(res, 'locations', paginate(req, locations), locationJson);
  });

  router.get('/locations/:id', (req, res) => {
    const location = findLocation(numericId(req.params.id, 'location'));
    if (location === undefined) throw notFound(`location with ID '${req.params.id}'`);
    res.json({ location: locationJson(location) });
  });

  router.get('/server_types', (req, res) => {
    const name = queryValue(req, 'name');
    const types = HETZNER_SERVER_TYPES.filter((t) => name === undefined || t.name === name);
    sendPage(res, 'server_types', paginate(req, types), serverTypeJson);
  });

  router.get('/server_types/:id', (req, res) => {
    const type = findServerType(numericId(req.params.id, 'server type'));
    if (type === undefined) throw notFound(`server type with ID '${req.params.id}'`);
    res.json({ server_type: serverTypeJson(type) });
  });

  router.get('/images', (req, res) => {
    const types = queryValues(req, 'type');
    const name = queryValue(req, 'name');
    const architecture = queryValue(req, 'architecture');
    // Every seeded image is an available system image; other types and statuses match nothing.
    const statuses = queryValues(req, 'status');
    const images = HETZNER_IMAGES.filter(
      (i) =>
        (types.length === 0 || types.includes('system')) &&
        (statuses.length === 0 || statuses.includes('available')) &&
        (name === undefined || i.name === name) &&
        (architecture === undefined || i.architecture === architecture),
    );
    sendPage(res, 'images', paginate(req, images), imageJson);
  });

  router.get('/images/:id', (req, res) => {
    const id = numericId(req.params.id, 'image');
    const image = HETZNER_IMAGES.find((i) => i.id === id);
    if (image === undefined) throw notFound(`image with ID '${id}'`);
    res.json({ image: imageJson(image) });
  });

  // ---- servers --------------------------------------------------------------------------

  router.get('/servers', (req, res) => {
    const statuses = queryValues(req, 'status');
    const unknown = statuses.filter((s) => !(HETZNER_SERVER_STATUSES as readonly string[]).includes(s));
    if (unknown.length > 0) {
      throw invalidInput([{ name: 'status', messages: [`'${unknown[0]}' is not one of ${HETZNER_SERVER_STATUSES.join(', ')}`] }]);
    }
    const selector = queryValue(req, 'label_selector');
    const servers = store.listServers({
      name: queryValue(req, 'name'),
      statuses: statuses as HetznerServerStatus[],
      selector: selector === undefined ? undefined : parseLabelSelector(selector),
    });
    const order = sortOrder<HetznerServerRecord>(req, SERVER_SORTS, byId);
    sendPage(res, 'servers', paginate(req, [...servers].sort(order)), (s) => serverJson(s, store.isLocked(s)));
  });

  router.post('/servers', (req, res) => {
    const created = store.createServer(req.body);
    res.status(201).json({
      server: serverJson(created.server, store.isLocked(created.server)),
      action: actionJson(created.action, now()),
      next_actions: created.nextActions.map((a) => actionJson(a, now())),
      root_password: created.rootPassword,
    });
  });

  router.get('/servers/:id', (req, res) => {
    const server = store.getServer(numericId(req.params.id, 'server'));
    res.json({ server: serverJson(server, store.isLocked(server)) });
  });

  router.get('/servers/:id/metrics', (req, res) => {
    const server = store.getServer(numericId(req.params.id, 'server'));
    res.json(hetznerServerMetrics(req, server, now()));
  });

  router.put('/servers/:id', (req, res) => {
    const server = store.updateServer(numericId(req.params.id, 'server'), req.body);
    res.json({ server: serverJson(server, store.isLocked(server)) });
  });

  router.delete('/servers/:id', (req, res) => {
    const action = store.deleteServer(numericId(req.params.id, 'server'));
    res.status(200).json({ action: actionJson(action, now()) });
  });

  // ---- actions --------------------------------------------------------------------------

  router.get('/servers/:id/actions', (req, res) => {
    const server = store.getServer(numericId(req.params.id, 'server'));
    const statuses = queryValues(req, 'status');
    const actions = store
      .listActions(server.id)
      .filter((a) => statuses.length === 0 || statuses.includes(actionStatus(a)));
    const order = sortOrder<HetznerActionRecord>(req, ACTION_SORTS, byId);
    sendPage(res, 'actions', paginate(req, [...actions].sort(order)), (a) => actionJson(a, now()));
  });

  router.get('/servers/:id/actions/:actionId', (req, res) => {
    const server = store.getServer(numericId(req.params.id, 'server'));
    const action = store.getAction(numericId(req.params.actionId, 'action'));
    if (action.serverId !== server.id) throw notFound(`action with ID '${action.id}'`);
    res.json({ action: actionJson(action, now()) });
  });

  router.post('/servers/:id/actions/:name', (req, res) => {
    const started = store.startAction(numericId(req.params.id, 'server'), String(req.params.name), req.body);
    const body: Record<string, unknown> = { action: actionJson(started.action, now()) };
    if (started.console !== undefined) {
      body.wss_url = started.console.wssUrl;
      body.password = started.console.password;
    }
    res.status(201).json(body);
  });

  router.get('/actions', (req, res) => {
    const rawIds = queryValues(req, 'id');
    if (rawIds.length === 0) {
      throw new HetznerApiError(410, 'deprecated_api_endpoint', 'listing actions without an id filter was removed', {
        announcement: ACTIONS_LIST_REMOVAL,
      });
    }
    if (rawIds.some((id) => !/^\d{1,15}$/.test(id))) {
      throw invalidInput([{ name: 'id', messages: ['must be a list of integer action ids'] }]);
    }
    const actions = store.actionsByIds(rawIds.map(Number));
    const order = sortOrder<HetznerActionRecord>(req, ACTION_SORTS, byId);
    sendPage(res, 'actions', paginate(req, [...actions].sort(order)), (a) => actionJson(a, now()));
  });

  router.get('/actions/:id', (req, res) => {
    res.json({ action: actionJson(store.getAction(numericId(req.params.id, 'action')), now()) });
  });

  // ---- fallbacks ------------------------------------------------------------------------

  router.use(() => {
    throw notFound();
  });

  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HetznerApiError) {
      sendHetznerError(res, err.status, err.code, err.message, err.details);
    } else if (isBodyParserError(err, 'entity.parse.failed')) {
      sendHetznerError(res, 400, 'json_error', 'invalid JSON in the request body');
    } else if (isBodyParserError(err, 'entity.too.large')) {
      sendHetznerError(res, 413, 'invalid_input', 'request body is too large');
    } else {
      sendHetznerError(res, 500, 'server_error', 'error within the API backend');
    }
  });

  const config = (): HetznerConfig => ({
    ...behaviour,
    rateLimit: rateLimitEnabled ? limiter.getLimits() : false,
  });

  return {
    provider: 'hetzner',
    mountPath: HETZNER_MOUNT_PATH,
    router,
    config,
    configure(patch: unknown): HetznerConfig {
      const checked = checkConfigPatch(patch);
      Object.assign(behaviour, checked.behaviour);
      if (checked.rateLimit === false) {
        rateLimitEnabled = false;
      } else if (checked.rateLimit !== undefined) {
        rateLimitEnabled = true;
        limiter.setLimits(checked.rateLimit);
      }
      return config();
    },
    reset(): void {
      store.reset();
      limiter.reset();
    },
    snapshot: () => store.snapshot(),
    restore: (section, path) => store.restore(section, path),
    revision: () => store.revision(),
  };
}

// ---- helpers ----------------------------------------------------------------------------

const byId: Comparator<{ id: number }> = (a, b) => a.id - b.id;

const SERVER_SORTS: Record<string, Comparator<HetznerServerRecord>> = {
  id: byId,
  name: (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  created: (a, b) => a.createdAt - b.createdAt,
};

const ACTION_SORTS: Record<string, Comparator<HetznerActionRecord>> = {
  id: byId,
  command: (a, b) => a.command.localeCompare(b.command),
  status: (a, b) => actionStatus(a).localeCompare(actionStatus(b)),
  started: (a, b) => a.startedAt - b.startedAt,
  // Unfinished actions have no finish time yet and sort last.
  finished: (a, b) => (a.settled ? a.completesAt : Infinity) - (b.settled ? b.completesAt : Infinity) || 0,
};

function actionStatus(a: HetznerActionRecord): string {
  return a.settled ? a.outcome : 'running';
}

/** The bearer token of a request, or undefined; the scheme is case-insensitive per RFC 6750. */
function bearerToken(req: Request): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

/** Path ids are integers; anything else names no resource. */
function numericId(raw: string | string[] | undefined, what: string): number {
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) throw notFound(what);
  return Number(raw);
}

function checkConfigPatch(patch: unknown): {
  behaviour: Partial<HetznerBehaviour>;
  rateLimit: TokenBucketLimits | false | undefined;
} {
  const { raw, counters: read } = readConfigPatch(patch, BEHAVIOUR_FIELDS, ['rateLimit'], (message) => new HetznerConfigError(message));
  const behaviour: Partial<HetznerBehaviour> = read;

  let rateLimit: TokenBucketLimits | false | undefined;
  if (raw.rateLimit === false) {
    rateLimit = false;
  } else if (raw.rateLimit !== undefined) {
    const rl = raw.rateLimit as Record<string, unknown> | null;
    const valid =
      typeof rl === 'object' &&
      rl !== null &&
      Number.isInteger(rl.capacity) &&
      (rl.capacity as number) > 0 &&
      typeof rl.refillPerSecond === 'number' &&
      Number.isFinite(rl.refillPerSecond) &&
      rl.refillPerSecond > 0;
    if (!valid) {
      throw new HetznerConfigError('rateLimit must be false or { capacity, refillPerSecond } with positive numbers');
    }
    rateLimit = { capacity: rl.capacity as number, refillPerSecond: rl.refillPerSecond as number };
  }
  return { behaviour, rateLimit };
}
