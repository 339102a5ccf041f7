/**
 * Simulated DigitalOcean API v2 (droplets, actions, catalogue, account), as an Express
 * router the sandbox server mounts at `/v2`. Behaviour follows PROVIDERS.md §1 and §5:
 * a DigitalOcean client pointed at this router should only notice the different base URL.
 *
 * Request pipeline, in order: request id → rate limit (counts every request, even ones
 * that then fail auth, so the headers are on every response) → auth → injected faults →
 * JSON body → settle due state transitions → routes → DigitalOcean-shaped errors.
 */
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import type { Clock } from '../clock.js';
import { DO_IMAGES, DO_REGIONS, DO_SIZES, findImage } from './catalogue.js';
import { DoApiError, notFound, sendDoError, unprocessable, writeDoFaultError } from './errors.js';
import type { DigitalOceanStoreSnapshot } from './snapshot.js';
import { type DigitalOceanBehaviour, DigitalOceanStore, regionJson } from './store.js';
import { dropletMetric } from './monitoring.js';
import type { Faults } from '../faults.js';
import { type SlidingWindowLimits, SlidingWindowRateLimiter } from '../rate-limit.js';
import { objectAt, stringAt } from '../snapshot-fields.js';
import { isBodyParserError, readConfigPatch } from '../config-patch.js';

export const DIGITALOCEAN_MOUNT_PATH = '/v2';

export const DEFAULT_DIGITALOCEAN_RATE_LIMIT: SlidingWindowLimits = { perHour: 5000, perMinute: 250 };

/** What a sandbox user may tune; the rest of the options come from the sandbox itself. */
export interface DigitalOceanSettings {
  /** Default 3000. */
  activeDelayMs?: number;
  /** Default 2000. */
  actionDelayMs?: number;
  /** Default { perHour: 5000, perMinute: 250 }; `false` turns limiting off entirely (no 429s and no ratelimit-* headers). */
  rateLimit?: SlidingWindowLimits | false;
}

export interface DigitalOceanSimulatorOptions {
  clock: Clock;
  /** The one bearer token the simulated account accepts. */
  token: string;
  faults: Faults;
  activeDelayMs?: number;
  actionDelayMs?: number;
  /** `false` turns limiting off entirely (no 429s and no ratelimit-* headers). */
  rateLimit?: SlidingWindowLimits | false;
  dropletLimit?: number;
}

export interface DigitalOceanConfig extends DigitalOceanBehaviour {
  rateLimit: SlidingWindowLimits | false;
}

/**
 * The `digitalocean` section of the sandbox state file. Behaviour (delays, limits, pending
 * failures) is configuration, not state, and is left out: it comes from the start options.
 */
export interface DigitalOceanSnapshot extends DigitalOceanStoreSnapshot {
  /** Kept so GET /account reports the same account after a restart. */
  accountUuid: string;
  teamUuid: string;
}

export interface DigitalOceanSimulator {
  readonly provider: 'digitalocean';
  /** Where the server mounts `router`. */
  readonly mountPath: string;
  readonly router: Router;
  config(): DigitalOceanConfig;
  /** Changes behaviour at run time; unknown or malformed fields throw DigitalOceanConfigError. */
  configure(patch: unknown): DigitalOceanConfig;
  /** Forgets droplets, actions, pending failures and rate-limit history. */
  reset(): void;
  snapshot(): DigitalOceanSnapshot;
  /** Replaces the account's resources with a snapshot's; throws SnapshotFormatError and changes nothing if it is malformed. */
  restore(section: unknown, path: string): void;
  /** Increases whenever something `snapshot()` returns has changed. */
  revision(): number;
}

export class DigitalOceanConfigError extends Error {
  override name = 'DigitalOceanConfigError';
}

const DEFAULT_PER_PAGE = 20;
const MAX_PER_PAGE = 200;

export function createDigitalOceanSimulator(options: DigitalOceanSimulatorOptions): DigitalOceanSimulator {
  const behaviour: DigitalOceanBehaviour = {
    activeDelayMs: options.activeDelayMs ?? 3000,
    actionDelayMs: options.actionDelayMs ?? 2000,
    failNextCreates: 0,
    failNextActions: 0,
    dropletLimit: options.dropletLimit ?? 1000,
  };
  const store = new DigitalOceanStore(options.clock, behaviour);
  const initialLimits = options.rateLimit === undefined ? DEFAULT_DIGITALOCEAN_RATE_LIMIT : options.rateLimit;
  const limiter = new SlidingWindowRateLimiter(options.clock, initialLimits || DEFAULT_DIGITALOCEAN_RATE_LIMIT);
  let rateLimitEnabled = initialLimits !== false;
  let accountUuid: string = randomUUID();
  let teamUuid: string = randomUUID();

  const router = Router();

  router.use((_req, res, next) => {
    const requestId = randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    next();
  });

  router.use((req, res, next) => {
    if (!rateLimitEnabled) return next();
    const decision = limiter.hit(bearerToken(req) ?? 'anonymous');
    res.setHeader('ratelimit-limit', String(decision.limit));
    res.setHeader('ratelimit-remaining', String(decision.remaining));
    res.setHeader('ratelimit-reset', String(decision.resetEpochSec));
    if (decision.allowed) return next();
    if (decision.retryAfterSec !== undefined) res.setHeader('retry-after', String(decision.retryAfterSec));
    sendDoError(res, 429, 'too_many_requests', 'API rate limit exceeded.');
  });

  router.use((req, res, next) => {
    if (bearerToken(req) === options.token) return next();
    sendDoError(res, 401, 'unauthorized', 'Unable to authenticate you');
  });

  // DigitalOcean's own paths already start at /v2, so rules see the path unprefixed.
  router.use(options.faults.middleware('digitalocean', '', writeDoFaultError));

  router.use(express.json({ type: () => true, limit: '1mb' }));

  router.use((_req, _res, next) => {
    store.settle();
    next();
  });

  // ---- account and catalogue ------------------------------------------------------------

  router.get('/account', (_req, res) => {
    res.json({
      account: {
        droplet_limit: behaviour.dropletLimit,
        floating_ip_limit: 3,
        volume_limit: 100,
        email: 'sandbox@example.invalid',
        name: 'Sandbox',
        uuid: accountUuid,
        email_verified: true,
        status: 'active',
        status_message: '',
        team: { uuid: teamUuid, name: 'Sandbox Team' },
      },
    });
  });

  router.get('/regions', (req, res) => {
    const page = paginate(req, DO_REGIONS.map(regionJson));
    res.json({ regions: page.items, links: page.links, meta: page.meta });
  });

  router.get('/sizes', (req, res) => {
    const page = paginate(
      req,
      DO_SIZES.map((s) => ({ ...s, regions: [...s.regions] })),
    );
    res.json({ sizes: page.items, links: page.links, meta: page.meta });
  });

  router.get('/images', (req, res) => {
    const type = queryValue(req, 'type');
    const privateOnly = queryValue(req, 'private') === 'true';
    // Every seeded image is a public distribution image.
    const matching = privateOnly || (type !== undefined && type !== 'distribution') ? [] : DO_IMAGES;
    const page = paginate(
      req,
      matching.map((i) => ({ ...i, regions: [...i.regions], tags: [...i.tags] })),
    );
    res.json({ images: page.items, links: page.links, meta: page.meta });
  });

  router.get('/images/:ref', (req, res) => {
    const image = findImage(String(req.params.ref));
    if (image === undefined) throw notFound();
    res.json({ image: { ...image, regions: [...image.regions], tags: [...image.tags] } });
  });

  // ---- droplets -------------------------------------------------------------------------

  router.get('/droplets', (req, res) => {
    const tagName = queryValue(req, 'tag_name');
    const name = queryValue(req, 'name');
    const type = queryValue(req, 'type');
    if (tagName !== undefined && (name !== undefined || type !== undefined)) {
      throw unprocessable('tag_name cannot be combined with name or type');
    }
    if (type !== undefined && type !== 'droplets' && type !== 'gpus') {
      throw unprocessable('type must be one of: droplets, gpus');
    }
    // No simulated droplet is a GPU droplet.
    const droplets = type === 'gpus' ? [] : store.listDroplets({ tagName, name });
    const page = paginate(req, droplets);
    res.json({ droplets: page.items.map((d) => store.dropletJson(d)), links: page.links, meta: page.meta });
  });

  router.post('/droplets', (req, res) => {
    const body: unknown = req.body;
    const created = store.createDroplets(body);
    const actionLinks = created.actions.map((a) => ({
      id: a.id,
      rel: 'create',
      href: `${origin(req)}${req.baseUrl}/actions/${a.id}`,
    }));
    const multi = typeof body === 'object' && body !== null && 'names' in body && Array.isArray(body.names);
    const first = created.droplets[0];
    if (multi || first === undefined) {
      res.status(202).json({ droplets: created.droplets.map((d) => store.dropletJson(d)), links: { actions: actionLinks } });
    } else {
      res.status(202).json({ droplet: store.dropletJson(first), links: { actions: actionLinks } });
    }
  });

  router.delete('/droplets', (req, res) => {
    const tagName = queryValue(req, 'tag_name');
    if (tagName === undefined || tagName === '') {
      throw unprocessable('tag_name is required to delete droplets by tag');
    }
    store.deleteDropletsByTag(tagName);
    res.status(204).end();
  });

  router.get('/droplets/:id', (req, res) => {
    const droplet = store.getDroplet(numericId(req.params.id));
    res.json({ droplet: store.dropletJson(droplet) });
  });

  router.delete('/droplets/:id', (req, res) => {
    store.deleteDroplet(numericId(req.params.id));
    res.status(204).end();
  });

  // ---- actions --------------------------------------------------------------------------

  router.post('/droplets/:id/actions', (req, res) => {
    const action = store.startAction(numericId(req.params.id), req.body);
    res.status(201).json({ action: store.actionJson(action) });
  });

  router.get('/droplets/:id/actions', (req, res) => {
    const droplet = store.getDroplet(numericId(req.params.id));
    const page = paginate(req, store.listActions(droplet.id));
    res.json({ actions: page.items.map((a) => store.actionJson(a)), links: page.links, meta: page.meta });
  });

  router.get('/droplets/:id/actions/:actionId', (req, res) => {
    const droplet = store.getDroplet(numericId(req.params.id));
    const action = store.getAction(numericId(req.params.actionId));
    if (action.dropletId !== droplet.id) throw notFound();
    res.json({ action: store.actionJson(action) });
  });

  router.get('/actions', (req, res) => {
    const page = paginate(req, store.listActions());
    res.json({ actions: page.items.map((a) => store.actionJson(a)), links: page.links, meta: page.meta });
  });

  router.get('/actions/:id', (req, res) => {
    res.json({ action: store.actionJson(store.getAction(numericId(req.params.id))) });
  });

  // ---- monitoring -----------------------------------------------------------------------

  router.get('/monitoring/metrics/droplet/:metric', (req, res) => {
    const droplet = (id: number) => {
      try {
        return store.getDroplet(id);
      } catch {
        return undefined;
      }
    };
    res.json(dropletMetric(req, String(req.params.metric), droplet, options.clock.now()));
  });

  // ---- fallbacks ------------------------------------------------------------------------

  router.use(() => {
    throw notFound();
  });

  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof DoApiError) {
      sendDoError(res, err.status, err.errorId, err.message);
    } else if (isBodyParserError(err, 'entity.parse.failed')) {
      sendDoError(res, 400, 'bad_request', 'error parsing request body');
    } else if (isBodyParserError(err, 'entity.too.large')) {
      sendDoError(res, 413, 'request_entity_too_large', 'request body is too large');
    } else {
      sendDoError(res, 500, 'server_error', 'Unexpected server-side error');
    }
  });

  const config = (): DigitalOceanConfig => ({
    ...behaviour,
    rateLimit: rateLimitEnabled ? limiter.getLimits() : false,
  });

  return {
    provider: 'digitalocean',
    mountPath: DIGITALOCEAN_MOUNT_PATH,
    router,
    config,
    configure(patch: unknown): DigitalOceanConfig {
      const checked = checkConfigPatch(patch);
      Object.assign(behaviour, checked.behaviour);
      if (checked.rateLimit !== undefined) {
        if (checked.rateLimit === false) {
          rateLimitEnabled = false;
        } else {
          rateLimitEnabled = true;
          limiter.setLimits(checked.rateLimit);
        }
      }
      return config();
    },
    reset(): void {
      store.reset();
      limiter.reset();
    },
    snapshot(): DigitalOceanSnapshot {
      return { accountUuid, teamUuid, ...store.snapshot() };
    },
    restore(section: unknown, path: string): void {
      const raw = objectAt(section, path);
      const restoredAccount = stringAt(raw.accountUuid, `${path}.accountUuid`);
      const restoredTeam = stringAt(raw.teamUuid, `${path}.teamUuid`);
      store.restore(raw, path);
      accountUuid = restoredAccount;
      teamUuid = restoredTeam;
    },
    revision: () => store.revision(),
  };
}

// ---- helpers ----------------------------------------------------------------------------

/** The bearer token of a request, or undefined; the scheme is case-insensitive per RFC 6750. */
function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function origin(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

function queryValue(req: Request, key: string): string | undefined {
  const value: unknown = (req.query as Record<string, unknown>)[key];
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** Path ids are integers; anything else names no resource. */
function numericId(raw: string | string[] | undefined): number {
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) throw notFound();
  return Number(raw);
}

interface Page<T> {
  items: T[];
  links: { pages: Record<string, string> };
  meta: { total: number };
}

/**
 * DigitalOcean pagination: `page` (1-based) and `per_page` (default 20, clamped to 1..200).
 * `links.pages` holds absolute URLs and only the keys that lead somewhere: no first/prev on
 * page 1, no next/last on the last page. Other query parameters (filters) are carried over
 * so a client following `next` keeps its filter.
 */
function paginate<T>(req: Request, all: readonly T[]): Page<T> {
  const perPageRaw = queryValue(req, 'per_page');
  const perPage = clampInt(perPageRaw, DEFAULT_PER_PAGE, 1, MAX_PER_PAGE);
  const page = clampInt(queryValue(req, 'page'), 1, 1, Number.MAX_SAFE_INTEGER);
  const lastPage = Math.max(1, Math.ceil(all.length / perPage));

  const url = new URL(req.originalUrl, origin(req));
  const carried = new URLSearchParams(url.search);
  carried.delete('page');
  carried.delete('per_page');
  const base = `${url.origin}${url.pathname}`;
  const linkTo = (n: number): string => {
    const params = new URLSearchParams({ page: String(n) });
    if (perPageRaw !== undefined) params.set('per_page', String(perPage));
    for (const [k, v] of carried) params.append(k, v);
    return `${base}?${params.toString()}`;
  };

  const pages: Record<string, string> = {};
  if (page > 1) {
    pages.first = linkTo(1);
    pages.prev = linkTo(Math.min(page - 1, lastPage));
  }
  if (page < lastPage) {
    pages.next = linkTo(page + 1);
    pages.last = linkTo(lastPage);
  }

  const start = (page - 1) * perPage;
  return { items: all.slice(start, start + perPage), links: { pages }, meta: { total: all.length } };
}

function clampInt(raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || !/^-?\d+$/.test(raw.trim())) return fallback;
  return Math.min(max, Math.max(min, Number(raw)));
}

function checkConfigPatch(patch: unknown): {
  behaviour: Partial<DigitalOceanBehaviour>;
  rateLimit: SlidingWindowLimits | false | undefined;
} {
  const counters = ['activeDelayMs', 'actionDelayMs', 'failNextCreates', 'failNextActions', 'dropletLimit'] as const;
  const { raw, counters: read } = readConfigPatch(patch, counters, ['rateLimit'], (message) => new DigitalOceanConfigError(message));
  const behaviour: Partial<DigitalOceanBehaviour> = read;

  let rateLimit: SlidingWindowLimits | false | undefined;
  if (raw.rateLimit === false) {
    rateLimit = false;
  } else if (raw.rateLimit !== undefined) {
    const rl = raw.rateLimit as Record<string, unknown> | null;
    const valid =
      typeof rl === 'object' &&
      rl !== null &&
      Number.isInteger(rl.perHour) &&
      Number.isInteger(rl.perMinute) &&
      (rl.perHour as number) > 0 &&
      (rl.perMinute as number) > 0;
    if (!valid) {
      throw new DigitalOceanConfigError('rateLimit must be false or { perHour, perMinute } with positive integers');
    }
    rateLimit = { perHour: rl.perHour as number, perMinute: rl.perMinute as number };
  }
  return { behaviour, rateLimit };
}
