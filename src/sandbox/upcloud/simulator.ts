/**
 * Simulated UpCloud API 1.3 (servers, storages, catalogue, account) as an Express router
 * the sandbox mounts at `/upcloud/1.3`. Behaviour follows PROVIDERS.md §4 and §5: an
 * UpCloud client pointed at `${sandbox.url}/upcloud/1.3` should only notice the base URL.
 * The same router also answers API 1.2 at `/upcloud/1.2`, with 1.2's field names
 * (api-1-2.ts).
 *
 * Auth: `Authorization: Bearer <sandbox token>`, or HTTP Basic with the user name
 * `sandbox` and the sandbox token as the password (UpCloud also takes API user names and
 * passwords). Anything else is a 401 AUTHENTICATION_FAILED.
 *
 * UpCloud documents no rate limit, so none is simulated; a 429 (or any other failure) can
 * be injected with a fault rule for provider `upcloud`, written against the paths a client
 * uses, e.g. `{ provider: 'upcloud', path: '^/1.3/server$', kind: 'status', status: 429 }`.
 *
 * Request pipeline, in order: correlation id → auth → injected faults → JSON body →
 * settle due state changes → routes → UpCloud-shaped errors.
 */
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import type { Clock } from '../clock.js';
import { UPCLOUD_ZONES, findTemplate } from './catalogue.js';
import {
  UPCLOUD_ERROR_FORMATS,
  UpCloudApiError,
  type UpCloudErrorFormat,
  badRequest,
  defaultErrorFor,
  sendUpCloudError,
  storageNotFound,
  upCloudFaultWriter,
} from './errors.js';
import {
  plansJson,
  pricesJson,
  serverDetailsJson,
  serverSummaryJson,
  storageDetailsJson,
  storageSummaryJson,
  templateJson,
  templatesJson,
  zoneJson,
} from './json.js';
import { parseLabelFilters } from './labels.js';
import { api12Translation, isApi12, markApi12 } from './api-1-2.js';
import type { UpCloudStoreSnapshot } from './snapshot.js';
import { type UpCloudBehaviour, UpCloudStore } from './store.js';
import type { Faults } from '../faults.js';
import { isBodyParserError, readConfigPatch } from '../config-patch.js';

export const UPCLOUD_MOUNT_PATH = '/upcloud/1.3';
/** Where the same simulator answers API 1.2. */
export const UPCLOUD_1_2_MOUNT_PATH = '/upcloud/1.2';
/** The part of the mount path that the real API does not have; fault rules see paths without it. */
const FAULT_PATH_PREFIX = '/upcloud';

/** The HTTP Basic user name the simulator accepts, with the sandbox token as the password. */
export const UPCLOUD_SANDBOX_USERNAME = 'sandbox';

/** What a sandbox user may tune; the rest of the options come from the sandbox itself. */
export interface UpCloudSettings {
  /** maintenance → started after create. Default 3000. */
  createDelayMs?: number;
  /** Stop request → stopped. Default 2000. */
  stopDelayMs?: number;
  /** Restart: maintenance → started. Default 2000. */
  restartDelayMs?: number;
  /** Plan/cores/memory change: maintenance → stopped. Default 1000. */
  modifyDelayMs?: number;
  /** An injected `error` state lasts this long before the server reads `stopped`. Default 5000. */
  errorDurationMs?: number;
  /** The shape of every error body (§4.7): `legacy` (default) or RFC 7807 `problem`. */
  errorFormat?: UpCloudErrorFormat;
}

export interface UpCloudSimulatorOptions extends UpCloudSettings {
  clock: Clock;
  /** The one token the simulated account accepts (as a bearer token or a Basic password). */
  token: string;
  faults: Faults;
}

export interface UpCloudConfig extends UpCloudBehaviour {
  errorFormat: UpCloudErrorFormat;
}

/** The `upcloud` section of the sandbox state file; behaviour settings are not state and are left out. */
export type UpCloudSnapshot = UpCloudStoreSnapshot;

export interface UpCloudSimulator {
  readonly provider: 'upcloud';
  readonly mountPath: string;
  readonly router: Router;
  /** API 1.2, served by the same router. */
  readonly otherMounts: ReadonlyArray<{ mountPath: string; router: Router }>;
  config(): UpCloudConfig;
  /** Changes behaviour at run time; unknown or malformed fields throw UpCloudConfigError. */
  configure(patch: unknown): UpCloudConfig;
  /** Forgets servers, storages and pending failures. */
  reset(): void;
  snapshot(): UpCloudSnapshot;
  /** Replaces the account's resources with a snapshot's; throws SnapshotFormatError and changes nothing if it is malformed. */
  restore(section: unknown, path: string): void;
  /** Increases whenever something `snapshot()` returns has changed. */
  revision(): number;
}

export class UpCloudConfigError extends Error {
  override name = 'UpCloudConfigError';
}

const MAX_LIMIT = 100;

export function createUpCloudSimulator(options: UpCloudSimulatorOptions): UpCloudSimulator {
  const behaviour: UpCloudBehaviour = {
    createDelayMs: options.createDelayMs ?? 3000,
    stopDelayMs: options.stopDelayMs ?? 2000,
    restartDelayMs: options.restartDelayMs ?? 2000,
    modifyDelayMs: options.modifyDelayMs ?? 1000,
    errorDurationMs: options.errorDurationMs ?? 5000,
    failNextCreates: 0,
    stuckNextCreates: 0,
    stuckNextStops: 0,
  };
  let errorFormat: UpCloudErrorFormat = options.errorFormat ?? 'legacy';
  const store = new UpCloudStore(options.clock, behaviour);
  // API 1.2 predates problem+json: its errors are always the legacy shape.
  const formatFor = (res: Response): UpCloudErrorFormat => (isApi12(res) ? 'legacy' : errorFormat);
  const fail = (res: Response, error: UpCloudApiError): void => sendUpCloudError(res, formatFor(res), error);

  const router = Router();

  router.use((_req, res, next) => {
    res.locals.correlationId = randomUUID();
    next();
  });

  router.use((req, res, next) => {
    if (isAuthorized(req, options.token)) return next();
    const { code, message } = defaultErrorFor(401);
    fail(res, new UpCloudApiError(401, code, message));
  });

  router.use(
    options.faults.middleware('upcloud', FAULT_PATH_PREFIX, (req, res, status) => upCloudFaultWriter(() => formatFor(res))(req, res, status)),
  );

  router.use(express.json({ type: () => true, limit: '1mb' }));

  router.use(api12Translation());

  router.use((_req, _res, next) => {
    store.settle();
    next();
  });

  // ---- account and catalogue ------------------------------------------------------------

  router.get('/account', (_req, res) => {
    res.json({
      account: {
        credits: 1_000_000,
        username: UPCLOUD_SANDBOX_USERNAME,
        resource_limits: { cores: 200, memory: 819_200, networks: 100, public_ipv4: 100, public_ipv6: 100, storage_maxiops: 20_480 },
      },
    });
  });

  router.get('/zone', (_req, res) => {
    res.json({ zones: { zone: UPCLOUD_ZONES.map(zoneJson) } });
  });

  router.get('/plan', (_req, res) => {
    res.json(plansJson());
  });

  router.get('/price', (_req, res) => {
    res.json(pricesJson());
  });

  // ---- storages -------------------------------------------------------------------------

  const own = () => store.listStorages().map((s) => storageSummaryJson(s, store));
  const storageLists: Record<string, () => Record<string, unknown>[]> = {
    '/storage': () => [...templatesJson(), ...own()],
    '/storage/public': templatesJson,
    '/storage/template': templatesJson,
    '/storage/private': own,
    '/storage/normal': own,
    '/storage/backup': () => [],
    '/storage/cdrom': () => [],
    '/storage/favorite': () => [],
  };
  for (const [path, list] of Object.entries(storageLists)) {
    router.get(path, (_req, res) => {
      res.json({ storages: { storage: list() } });
    });
  }

  router.get('/storage/:uuid', (req, res) => {
    const uuid = String(req.params.uuid);
    const template = findTemplate(uuid);
    if (template !== undefined) {
      res.json({ storage: templateJson(template) });
      return;
    }
    const storage = store.findStorage(uuid);
    if (storage === undefined) throw storageNotFound(uuid);
    res.json({ storage: storageDetailsJson(storage, store) });
  });

  // ---- servers --------------------------------------------------------------------------

  router.get('/server', (req, res) => {
    const query = req.query as Record<string, unknown>;
    const matching = store.listServers(parseLabelFilters(query.label));
    const offset = pagingNumber(query.offset, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const limit = pagingNumber(query.limit, 'limit', 1, MAX_LIMIT);
    const page = matching.slice(offset, limit === undefined ? undefined : offset + limit);
    res.json({ servers: { server: page.map(serverSummaryJson) } });
  });

  router.post('/server', (req, res) => {
    const created = store.createServer(req.body);
    const server = serverDetailsJson(created.server, store);
    // The password is shown here once and never again.
    if (created.password !== null) Object.assign(server, { password: created.password, username: created.username });
    res.status(202).json({ server });
  });

  router.get('/server/:uuid', (req, res) => {
    res.json({ server: serverDetailsJson(store.getServer(String(req.params.uuid)), store) });
  });

  router.put('/server/:uuid', (req, res) => {
    const server = store.modifyServer(String(req.params.uuid), req.body);
    res.status(202).json({ server: serverDetailsJson(server, store) });
  });

  router.delete('/server/:uuid', (req, res) => {
    const query = req.query as Record<string, unknown>;
    store.deleteServer(String(req.params.uuid), { storages: query.storages, backups: query.backups });
    res.status(204).end();
  });

  router.post('/server/:uuid/start', (req, res) => {
    res.json({ server: serverDetailsJson(store.startServer(String(req.params.uuid)), store) });
  });

  router.post('/server/:uuid/stop', (req, res) => {
    res.json({ server: serverDetailsJson(store.stopServer(String(req.params.uuid), req.body), store) });
  });

  router.post('/server/:uuid/restart', (req, res) => {
    res.json({ server: serverDetailsJson(store.restartServer(String(req.params.uuid), req.body), store) });
  });

  // ---- fallbacks ------------------------------------------------------------------------

  const knownPaths = [
    '/account',
    '/zone',
    '/plan',
    '/price',
    '/storage',
    '/storage/:uuid',
    '/server',
    '/server/:uuid',
    '/server/:uuid/start',
    '/server/:uuid/stop',
    '/server/:uuid/restart',
  ];
  for (const path of knownPaths) {
    router.all(path, (req) => {
      throw new UpCloudApiError(405, 'METHOD_NOT_ALLOWED', `The method ${req.method} is not allowed for this resource.`);
    });
  }

  router.use(() => {
    const { code, message } = defaultErrorFor(404);
    throw new UpCloudApiError(404, code, message);
  });

  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof UpCloudApiError) {
      fail(res, err);
    } else if (isBodyParserError(err, 'entity.parse.failed')) {
      fail(res, badRequest('REQUEST_INVALID', 'The request body is not valid JSON.'));
    } else if (isBodyParserError(err, 'entity.too.large')) {
      fail(res, new UpCloudApiError(413, 'REQUEST_INVALID', 'The request body is too large.'));
    } else {
      const { code, message } = defaultErrorFor(500);
      fail(res, new UpCloudApiError(500, code, message));
    }
  });

  const config = (): UpCloudConfig => ({ ...behaviour, errorFormat });

  const router12 = Router();
  router12.use(markApi12(), router);

  return {
    provider: 'upcloud',
    mountPath: UPCLOUD_MOUNT_PATH,
    router,
    otherMounts: [{ mountPath: UPCLOUD_1_2_MOUNT_PATH, router: router12 }],
    config,
    configure(patch: unknown): UpCloudConfig {
      const checked = checkConfigPatch(patch);
      Object.assign(behaviour, checked.behaviour);
      if (checked.errorFormat !== undefined) errorFormat = checked.errorFormat;
      return config();
    },
    reset: () => store.reset(),
    snapshot: () => store.snapshot(),
    restore: (section, path) => store.restore(section, path),
    revision: () => store.revision(),
  };
}

// ---- helpers ----------------------------------------------------------------------------

/** Bearer with the token, or Basic `sandbox:<token>`; both schemes are case-insensitive. */
function isAuthorized(req: Request, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer !== null) return bearer[1] === token;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (basic === null) return false;
  const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && decoded.slice(0, colon) === UPCLOUD_SANDBOX_USERNAME && decoded.slice(colon + 1) === token;
}

/** `limit` (1..100) and `offset` (0..), as UpCloud's other list endpoints take them. */
function pagingNumber(raw: unknown, name: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (typeof text !== 'string' || !/^\d{1,15}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw badRequest('REQUEST_INVALID', `${name} must be an integer between ${min} and ${max === Number.MAX_SAFE_INTEGER ? 'any' : max}.`, name);
  }
  return Number(text);
}

function checkConfigPatch(patch: unknown): { behaviour: Partial<UpCloudBehaviour>; errorFormat: UpCloudErrorFormat | undefined } {
  const counters = [
    'createDelayMs',
    'stopDelayMs',
    'restartDelayMs',
    'modifyDelayMs',
    'errorDurationMs',
    'failNextCreates',
    'stuckNextCreates',
    'stuckNextStops',
  ] as const;
  const { raw, counters: read } = readConfigPatch(patch, counters, ['errorFormat'], (message) => new UpCloudConfigError(message));
  const behaviour: Partial<UpCloudBehaviour> = read;
  let errorFormat: UpCloudErrorFormat | undefined;
  if (raw.errorFormat !== undefined) {
    if (!UPCLOUD_ERROR_FORMATS.includes(raw.errorFormat as UpCloudErrorFormat)) {
      throw new UpCloudConfigError(`errorFormat must be one of ${UPCLOUD_ERROR_FORMATS.join(', ')}`);
    }
    errorFormat = raw.errorFormat as UpCloudErrorFormat;
  }
  return { behaviour, errorFormat };
}
