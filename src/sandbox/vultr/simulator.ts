/**
 * Simulated Vultr API v2 (instances, catalogue, account), as an Express router the sandbox
 * server mounts at `/vultr/v2`. Behaviour follows PROVIDERS.md §3 and §5: a Vultr client
 * pointed at `${sandbox.url}/vultr/v2` should only notice the different base URL.
 *
 * Request pipeline, in order: console page (it lives on Vultr's web site, not the API) →
 * per-IP rate limit (counts every API request, even ones that then fail auth) → auth →
 * injected faults → JSON body → settle due tasks → routes → Vultr-shaped errors.
 *
 * Fault rules see the path a Vultr client uses, e.g. `^/v2/instances$`.
 */
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import type { Clock } from '../clock.js';
import type { Faults } from '../faults.js';
import { VULTR_OS, VULTR_PLANS, VULTR_REGIONS } from './catalogue.js';
import {
  RATE_LIMITED_MESSAGE,
  UNAUTHORIZED_MESSAGE,
  VultrApiError,
  routeNotFound,
  sendVultrError,
  writeVultrFaultError,
} from './errors.js';
import { instanceBandwidth } from './bandwidth.js';
import { instanceJson } from './instance-json.js';
import { paginate } from './pagination.js';
import { PerSecondRateLimiter, type VultrRateLimit } from './rate-limit.js';
import { parseCreateRequest, parseInstanceIds, parseUpdateRequest } from './requests.js';
import type { VultrStoreSnapshot } from './snapshot.js';
import { type InstanceRecord, type PowerTaskKind, type VultrBehaviour, VultrStore } from './store.js';
import { isBodyParserError, readConfigPatch } from '../config-patch.js';

export const VULTR_MOUNT_PATH = '/vultr/v2';
/** What the sandbox puts before Vultr's own `/v2`; fault rules are matched without it. */
const SANDBOX_PREFIX = '/vultr';

export const DEFAULT_VULTR_RATE_LIMIT: VultrRateLimit = { perSecond: 30 };

/** What a sandbox user may tune; the rest of the options come from the sandbox itself. */
export interface VultrSettings {
  /** Create → leaves `pending` with its main_ip. Default 2000. */
  activeDelayMs?: number;
  /** Leaves `pending` → `server_status: ok`. Default 1000. */
  bootDelayMs?: number;
  /** Halt, start, reboot. Default 1000. */
  actionDelayMs?: number;
  /** Plan change (`status: resizing`). Default 2000. */
  resizeDelayMs?: number;
  /** Default { perSecond: 30 } per client IP; `false` turns limiting off. */
  rateLimit?: VultrRateLimit | false;
}

export interface VultrSimulatorOptions extends VultrSettings {
  clock: Clock;
  /** The one API key the simulated account accepts. */
  token: string;
  faults: Faults;
}

export interface VultrConfig extends VultrBehaviour {
  rateLimit: VultrRateLimit | false;
}

/**
 * The `vultr` section of the sandbox state file. Behaviour (delays, limits, pending
 * failures) is configuration, not state, and is left out: it comes from the start options.
 */
export type VultrSnapshot = VultrStoreSnapshot;

export interface VultrSimulator {
  readonly provider: 'vultr';
  /** Where the server mounts `router`. */
  readonly mountPath: string;
  readonly router: Router;
  config(): VultrConfig;
  /** Changes behaviour at run time; unknown or malformed fields throw VultrConfigError. */
  configure(patch: unknown): VultrConfig;
  /** Forgets instances, pending failures and rate-limit history. */
  reset(): void;
  snapshot(): VultrSnapshot;
  /** Replaces the account's instances with a snapshot's; throws SnapshotFormatError and changes nothing if it is malformed. */
  restore(section: unknown, path: string): void;
  /** Increases whenever something `snapshot()` returns has changed. */
  revision(): number;
}

export class VultrConfigError extends Error {
  override name = 'VultrConfigError';
}

const POWER_ROUTES: ReadonlyArray<readonly [path: string, kind: PowerTaskKind]> = [
  ['halt', 'halt'],
  ['start', 'start'],
  ['reboot', 'reboot'],
];

export function createVultrSimulator(options: VultrSimulatorOptions): VultrSimulator {
  const behaviour: VultrBehaviour = {
    activeDelayMs: options.activeDelayMs ?? 2000,
    bootDelayMs: options.bootDelayMs ?? 1000,
    actionDelayMs: options.actionDelayMs ?? 1000,
    resizeDelayMs: options.resizeDelayMs ?? 2000,
    stallNextCreates: 0,
    suspendNextCreates: 0,
    stallNextActions: 0,
  };
  const store = new VultrStore(options.clock, behaviour);
  const initialLimit = options.rateLimit === undefined ? DEFAULT_VULTR_RATE_LIMIT : options.rateLimit;
  const limiter = new PerSecondRateLimiter(options.clock, initialLimit || DEFAULT_VULTR_RATE_LIMIT);
  let rateLimitEnabled = initialLimit !== false;

  const router = Router();

  // The console is a web page a person opens from the URL in `kvm`; it is not part of the
  // API, so no API key, rate limit or fault applies to it.
  router.get('/kvm/:id', (req, res) => {
    store.settle();
    const instance = store.find(String(req.params.id));
    const data = queryValue(req, 'data');
    if (instance === undefined || data !== instance.kvmToken || !store.stateOf(instance).provisioned) {
      res.status(404).type('text/plain').send('console session not found or expired\n');
      return;
    }
    res
      .type('text/html')
      .send(
        `<!doctype html><title>${escapeHtml(instance.label || instance.id)} console</title>` +
          `<p>Simulated KVM console of Vultr instance ${escapeHtml(instance.id)} (${escapeHtml(instance.hostname)}).</p>\n`,
      );
  });

  router.use((req, res, next) => {
    if (!rateLimitEnabled || limiter.hit(req.socket.remoteAddress ?? 'unknown')) return next();
    // Vultr documents no rate-limit headers and sends none.
    sendVultrError(res, 429, RATE_LIMITED_MESSAGE);
  });

  router.use((req, res, next) => {
    if (bearerToken(req) === options.token) return next();
    sendVultrError(res, 401, UNAUTHORIZED_MESSAGE);
  });

  router.use(options.faults.middleware('vultr', SANDBOX_PREFIX, writeVultrFaultError));

  router.use(express.json({ type: () => true, limit: '1mb' }));

  router.use((_req, _res, next) => {
    store.settle();
    next();
  });

  const render = (req: Request, instance: InstanceRecord, defaultPassword?: string): Record<string, unknown> =>
    instanceJson(instance, store.stateOf(instance), {
      kvmBaseUrl: `${origin(req)}${req.baseUrl}/kvm`,
      defaultPassword,
    });

  // ---- account and catalogue ------------------------------------------------------------

  router.get('/account', (_req, res) => {
    res.json({
      account: {
        name: 'Sandbox',
        email: 'sandbox@example.invalid',
        acls: ['manage_users', 'subscriptions', 'provisioning', 'billing', 'support', 'abuse', 'dns', 'upgrade'],
        balance: 0,
        pending_charges: 0,
        last_payment_date: '',
        last_payment_amount: 0,
      },
    });
  });

  router.get('/regions', (req, res) => {
    const page = paginate(VULTR_REGIONS, queryValue(req, 'per_page'), queryValue(req, 'cursor'));
    res.json({ regions: page.items.map((r) => ({ ...r, options: [...r.options] })), meta: page.meta });
  });

  router.get('/plans', (req, res) => {
    const type = queryValue(req, 'type');
    const matching = type === undefined || type === '' || type === 'all' ? VULTR_PLANS : VULTR_PLANS.filter((p) => p.type === type);
    const page = paginate(matching, queryValue(req, 'per_page'), queryValue(req, 'cursor'));
    res.json({ plans: page.items.map((p) => ({ ...p, locations: [...p.locations] })), meta: page.meta });
  });

  router.get('/os', (req, res) => {
    const page = paginate(VULTR_OS, queryValue(req, 'per_page'), queryValue(req, 'cursor'));
    res.json({ os: page.items.map((o) => ({ ...o })), meta: page.meta });
  });

  // ---- instances ------------------------------------------------------------------------

  router.get('/instances', (req, res) => {
    const instances = store.list({
      tag: queryValue(req, 'tag'),
      label: queryValue(req, 'label'),
      mainIp: queryValue(req, 'main_ip'),
      region: queryValue(req, 'region'),
    });
    const page = paginate(instances, queryValue(req, 'per_page'), queryValue(req, 'cursor'));
    res.json({ instances: page.items.map((i) => render(req, i)), meta: page.meta });
  });

  router.post('/instances', (req, res) => {
    const { instance, defaultPassword } = store.create(parseCreateRequest(req.body));
    res.status(202).json({ instance: render(req, instance, defaultPassword) });
  });

  for (const [path, kind] of POWER_ROUTES) {
    router.post(`/instances/${path}`, (req, res) => {
      store.power(parseInstanceIds(req.body), kind);
      res.status(204).end();
    });
  }

  router.get('/instances/:id', (req, res) => {
    res.json({ instance: render(req, store.get(String(req.params.id))) });
  });

  router.patch('/instances/:id', (req, res) => {
    const instance = store.update(String(req.params.id), parseUpdateRequest(req.body));
    res.status(202).json({ instance: render(req, instance) });
  });

  router.delete('/instances/:id', (req, res) => {
    store.delete(String(req.params.id));
    res.status(204).end();
  });

  for (const [path, kind] of POWER_ROUTES) {
    router.post(`/instances/:id/${path}`, (req, res) => {
      store.power([String(req.params.id)], kind);
      res.status(204).end();
    });
  }

  router.get('/instances/:id/upgrades', (req, res) => {
    const plans = store.upgrades(String(req.params.id)).map((p) => p.id);
    const type = queryValue(req, 'type') ?? 'all';
    // The simulated account has no applications, and OS changes are not simulated.
    res.json({ upgrades: { os: [], applications: [], plans: type === 'all' || type === 'plans' ? plans : [] } });
  });

  router.get('/instances/:id/bandwidth', (req, res) => {
    res.json(instanceBandwidth(req, store.get(String(req.params.id)), options.clock.now()));
  });

  router.get('/instances/:id/user-data', (req, res) => {
    res.json({ user_data: { data: store.get(String(req.params.id)).userData } });
  });

  // ---- fallbacks ------------------------------------------------------------------------

  router.use(() => {
    throw routeNotFound();
  });

  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof VultrApiError) {
      sendVultrError(res, err.status, err.message);
    } else if (isBodyParserError(err, 'entity.parse.failed')) {
      sendVultrError(res, 400, 'Bad request.');
    } else if (isBodyParserError(err, 'entity.too.large')) {
      sendVultrError(res, 413, 'Request entity too large.');
    } else {
      sendVultrError(res, 500, 'Internal server error.');
    }
  });

  const config = (): VultrConfig => ({
    ...behaviour,
    rateLimit: rateLimitEnabled ? limiter.getLimit() : false,
  });

  return {
    provider: 'vultr',
    mountPath: VULTR_MOUNT_PATH,
    router,
    config,
    configure(patch: unknown): VultrConfig {
      const checked = checkConfigPatch(patch);
      Object.assign(behaviour, checked.behaviour);
      if (checked.rateLimit === false) {
        rateLimitEnabled = false;
      } else if (checked.rateLimit !== undefined) {
        rateLimitEnabled = true;
        limiter.setLimit(checked.rateLimit);
      }
      return config();
    },
    reset(): void {
      store.reset();
      limiter.reset();
    },
    snapshot: () => store.snapshot(),
    restore(section: unknown, path: string): void {
      store.restore(section, path);
    },
    revision: () => store.revision(),
  };
}

// ---- helpers ----------------------------------------------------------------------------

/** The bearer token of a request, or undefined; the scheme is case-insensitive per RFC 6750. */
function bearerToken(req: Request): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
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

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const BEHAVIOUR_FIELDS = [
  'activeDelayMs',
  'bootDelayMs',
  'actionDelayMs',
  'resizeDelayMs',
  'stallNextCreates',
  'suspendNextCreates',
  'stallNextActions',
] as const satisfies ReadonlyArray<keyof VultrBehaviour>;

function checkConfigPatch(patch: unknown): {
  behaviour: Partial<VultrBehaviour>;
  rateLimit: VultrRateLimit | false | undefined;
} {
  const { raw, counters: read } = readConfigPatch(patch, BEHAVIOUR_FIELDS, ['rateLimit'], (message) => new VultrConfigError(message));
  const behaviour: Partial<VultrBehaviour> = read;

  let rateLimit: VultrRateLimit | false | undefined;
  if (raw.rateLimit === false) {
    rateLimit = false;
  } else if (raw.rateLimit !== undefined) {
    const rl = raw.rateLimit as Record<string, unknown> | null;
    if (typeof rl !== 'object' || rl === null || !Number.isInteger(rl.perSecond) || (rl.perSecond as number) < 1) {
      throw new VultrConfigError('rateLimit must be false or { perSecond } with a positive integer');
    }
    rateLimit = { perSecond: rl.perSecond as number };
  }
  return { behaviour, rateLimit };
}
