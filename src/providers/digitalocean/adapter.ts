/**
 * DigitalOcean API v2 adapter (PROVIDERS.md §1). Whether it talks to the real API or the
 * local sandbox depends only on `baseUrl` and `token`.
 */
import { EngineError, ErrorCodes, ProviderError } from '../../common/errors.js';
import { InProcessWaits } from '../in-process-waits.js';
import {
  ProviderHttpClient,
  type HttpResponse,
  type ParsedProviderError,
  type ProviderHttpClientOptions,
} from '../http-client.js';
import {
  markerTag,
  type CallContext,
  type MetricsRange,
  type ServerMetrics,
  type CatalogImage,
  type CatalogPlan,
  type CatalogRegion,
  type ConsoleAccess,
  type CreateOutcome,
  type EarlierAttempt,
  type CreatePlan,
  type CreateServerInput,
  type ServerWait,
  type StepOutcome,
  type WaitCheck,
  type PowerAction,
  type Provider,
  type ProviderServer,
  type ServerStatus,
} from '../../common/provider.js';
import { readDigitalOceanMetrics } from './monitoring.js';
import { adapterErrors, encodeId, isNotFound, judgeWait, newestActionSince, type ActionState, type InProcessTiming } from '../adapter-kit.js';

export interface DigitalOceanProviderOptions {
  /** `https://api.digitalocean.com/v2`, or the sandbox's `http://127.0.0.1:PORT/v2`. */
  baseUrl: string;
  token: string;
  /** Pause between polls of a droplet or action. */
  pollIntervalMs?: number;
  /** `per_page` for listings; the API allows 1..200. */
  listPageSize?: number;
  /** How long waitUntilRunning / deleteServer / powerAction poll before giving up with PROVIDER_TIMEOUT. */
  waitTimeoutMs?: number;
  http?: Partial<Omit<ProviderHttpClientOptions, 'provider' | 'baseUrl' | 'parseError'>>;
}

/** The droplet fields we read; the API sends many more. */
interface DoDroplet {
  id: number;
  name: string;
  status: string;
  locked?: boolean;
  created_at: string;
  size_slug?: string;
  size?: { slug?: string } | null;
  image?: { id?: number; slug?: string | null } | null;
  region?: { slug?: string } | null;
  networks?: { v4?: Array<{ ip_address: string; type: string }> };
  tags?: string[] | null;
}

interface DoAction {
  id: number;
  started_at?: string;
  status: 'in-progress' | 'completed' | 'errored' | string;
  type: string;
  resource_id?: number;
}

interface DoLinks {
  pages?: { next?: string };
  actions?: Array<{ id: number; rel?: string }>;
}

interface DoSize {
  slug: string;
  available?: boolean;
  vcpus?: number;
  memory?: number;
  disk?: number;
  price_monthly?: number;
  price_hourly?: number;
  regions?: string[];
}

interface DoRegion {
  slug: string;
  name?: string;
  available?: boolean;
}

interface DoImage {
  id: number;
  slug?: string | null;
  name?: string;
  distribution?: string;
  regions?: string[];
}

const PROVIDER = 'digitalocean';
const { notFound, actionFailed, badResponse } = adapterErrors(PROVIDER, 'droplet');
const MAX_PAGE_SIZE = 200;
/** A guard against a provider whose `next` link never ends. */
const MAX_PAGES = 10_000;
/** Up to this many waits, reading each droplet costs fewer requests than listing the account. */
const FEW_WAITS = 2;
/** Action reads one round may spend on waits the droplets cannot decide. */
const MAX_ACTION_READS = 5;
/** A droplet still `new` this long after its create is worth asking its create action about. */
const CREATE_ACTION_CHECK_AFTER_MS = 60_000;

export class DigitalOceanProvider extends InProcessWaits implements Provider {
  protected readonly resourceWord = 'droplet';
  readonly name = PROVIDER;
  readonly defaultImage = 'ubuntu-24-04-x64';
  readonly supportsConsole = false;
  private readonly http: ProviderHttpClient;
  private readonly pollIntervalMs: number;
  private readonly pageSize: number;
  private readonly waitTimeoutMs: number;
  /** Pages the last full listing of the account took: the cost of one more. */
  private accountPages = 1;

  constructor(options: DigitalOceanProviderOptions) {
    super();
    this.http = new ProviderHttpClient({
      ...options.http,
      provider: PROVIDER,
      baseUrl: options.baseUrl,
      headers: { ...(options.http?.headers ?? {}), authorization: `Bearer ${options.token}` },
      parseError: parseDigitalOceanError,
    });
    this.pollIntervalMs = options.pollIntervalMs ?? 2_000;
    this.pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, options.listPageSize ?? MAX_PAGE_SIZE));
    this.waitTimeoutMs = options.waitTimeoutMs ?? 15 * 60_000;
  }

  async planCreate(input: CreateServerInput, ctx: CallContext): Promise<CreatePlan> {
    const [sizes, regions, images] = await Promise.all([
      this.listAll<DoSize>('sizes', 'sizes', ctx),
      this.listAll<DoRegion>('regions', 'regions', ctx),
      this.listAll<DoImage>('images', 'images', ctx),
    ]);
    const size = sizes.find((s) => s.slug === input.plan);
    const region = regions.find((r) => r.slug === input.zone);
    const image = images.find((i) => i.slug === input.image || String(i.id) === input.image);

    const problems: string[] = [];
    if (!region) problems.push(`unknown region '${input.zone}'`);
    else if (region.available === false) problems.push(`region '${input.zone}' is not available`);
    if (!size) problems.push(`unknown size '${input.plan}'`);
    else if (size.available === false) problems.push(`size '${input.plan}' is not available`);
    else if (region && size.regions?.length && !size.regions.includes(region.slug)) {
      problems.push(`size '${input.plan}' is not offered in region '${input.zone}'`);
    }
    if (!image) problems.push(`unknown image '${input.image}'`);
    else if (region && image.regions?.length && !image.regions.includes(region.slug)) {
      problems.push(`image '${input.image}' is not offered in region '${input.zone}'`);
    }
    if (problems.length > 0) {
      throw new ProviderError({
        provider: PROVIDER,
        code: ErrorCodes.PROVIDER_REJECTED,
        retryable: false,
        message: `${PROVIDER}: ${problems.join('; ')}`,
      });
    }
    return {
      provider: PROVIDER,
      name: input.name,
      plan: input.plan,
      zone: input.zone,
      image: input.image,
      price_monthly: size?.price_monthly,
      price_hourly: size?.price_hourly,
    };
  }

  async findByMarker(marker: string, ctx: CallContext): Promise<ProviderServer | null> {
    const droplets = await this.listAll<DoDroplet>('droplets', 'droplets', ctx, {
      tag_name: markerTag(marker),
    });
    // An archived droplet is not a server the operation can carry on with.
    const live = droplets.map(toServer).filter((s) => s.status !== 'gone');
    live.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    return live[0] ?? null;
  }

  async createServer(input: CreateServerInput, ctx: CallContext): Promise<CreateOutcome> {
    const tags = [...new Set([...input.tags, markerTag(input.marker)])];
    const res = await this.http.request<{ droplet?: DoDroplet; links?: DoLinks }>('POST', 'droplets', {
      signal: ctx.signal,
      body: {
        name: input.name,
        size: input.plan,
        image: /^\d+$/.test(input.image) ? Number(input.image) : input.image,
        region: input.zone,
        // DO takes key ids as integers and fingerprints as strings.
        ssh_keys: (input.sshKeys ?? []).map((k) => (/^\d+$/.test(k) ? Number(k) : k)),
        user_data: input.userData,
        tags,
        // Installs DigitalOcean's metrics agent: without it the monitoring API has no series for the droplet.
        monitoring: true,
      },
    });
    const droplet = expectDroplet(res.body?.droplet, 'POST /droplets');
    const server = toServer(droplet);
    const createAction = res.body?.links?.actions?.find((a) => a.rel === 'create') ?? res.body?.links?.actions?.[0];
    const wait = this.runningWait(server);
    // Only the create action can say the create errored: the droplet itself just stays `new`.
    if (wait && createAction && typeof createAction.id === 'number') wait.actionIds = [String(createAction.id)];
    return { server, wait };
  }

  runningWait(server: ProviderServer): ServerWait | null {
    if (server.status === 'running' && server.ipv4) return null;
    return { providerId: server.providerId, until: 'running', label: `droplet ${server.providerId} to become active` };
  }

  async getServer(providerId: string, ctx: CallContext): Promise<ProviderServer | null> {
    const droplet = await this.getDroplet(providerId, ctx);
    return droplet ? toServer(droplet) : null;
  }

  /** A deleted droplet answers 404 at once (§1.5); waiting for it to leave the listing confirms it. */
  async deleteStep(providerId: string, ctx: CallContext): Promise<StepOutcome> {
    try {
      await this.http.request('DELETE', `droplets/${encodeId(providerId)}`, { signal: ctx.signal });
    } catch (err) {
      if (isNotFound(err)) return { wait: null, again: false, existed: false, note: `droplet ${providerId} was already gone` };
      throw err;
    }
    return { wait: { providerId, until: 'gone', label: `droplet ${providerId} to be deleted` }, again: false, existed: true, note: `deleting droplet ${providerId}` };
  }

  /**
   * Asking an off droplet to power off (or an active one to power on) only earns a 422; a
   * rerun of the same operation finds the work already done instead. A droplet another
   * action holds is waited out first (a second action would be refused).
   */
  async powerStep(providerId: string, action: PowerAction, ctx: CallContext, earlier?: EarlierAttempt): Promise<StepOutcome> {
    const before = await this.getDroplet(providerId, ctx);
    if (!before) throw notFound(providerId, 'does not exist');
    if (earlier) {
      // The droplet's action list says whether the run that died got as far as sending it.
      const sent = await this.actionSince(providerId, action, earlier.since, ctx);
      if (sent) {
        return {
          wait: { providerId, until: action === 'power_off' ? 'stopped' : 'running', actionIds: [String(sent.id)], label: `${action} of droplet ${providerId}` },
          again: false,
          note: `found ${action} action ${sent.id} an earlier attempt sent to droplet ${providerId}; not sending it again`,
        };
      }
    }
    if (before.locked) return { wait: this.settledWait(providerId), again: true, note: `droplet ${providerId} is busy with another action; waiting before ${action}` };
    if (action === 'power_off' && before.status === 'off') return { wait: null, again: false, note: `droplet ${providerId} is already off` };
    if (action === 'power_on' && before.status === 'active') return { wait: null, again: false, note: `droplet ${providerId} is already active` };
    const started = await this.startAction(providerId, { type: action }, ctx);
    return {
      wait: {
        providerId,
        until: action === 'power_off' ? 'stopped' : 'running',
        actionIds: [String(started.id)],
        label: `${action} of droplet ${providerId}`,
      },
      again: false,
      note: `${action} of droplet ${providerId} started (action ${started.id})`,
    };
  }

  /** DigitalOcean resizes only a powered-off droplet (a running one answers 422). */
  async resizeStep(providerId: string, plan: string, startAfter: boolean, ctx: CallContext): Promise<StepOutcome> {
    const droplet = await this.getDroplet(providerId, ctx);
    if (!droplet) throw notFound(providerId, 'does not exist');
    if (droplet.locked) return { wait: this.settledWait(providerId), again: true, note: `droplet ${providerId} is busy with another action; waiting before resizing` };
    const current = droplet.size_slug ?? droplet.size?.slug ?? '';
    if (current !== plan) {
      if (droplet.status !== 'off') {
        const off = await this.startAction(providerId, { type: 'power_off' }, ctx);
        return {
          wait: { providerId, until: 'stopped', actionIds: [String(off.id)], label: `power_off of droplet ${providerId} before its resize` },
          again: true,
          note: `powering off droplet ${providerId} before resizing it`,
        };
      }
      const resize = await this.startAction(providerId, { type: 'resize', size: plan, disk: false }, ctx);
      return {
        wait: { providerId, until: 'settled', plan, actionIds: [String(resize.id)], label: `resize of droplet ${providerId} to ${plan}` },
        again: true,
        note: `resizing droplet ${providerId} from ${current} to ${plan}`,
      };
    }
    if (startAfter && droplet.status !== 'active') {
      const on = await this.startAction(providerId, { type: 'power_on' }, ctx);
      return {
        wait: { providerId, until: 'running', actionIds: [String(on.id)], label: `power_on of droplet ${providerId} after its resize` },
        again: false,
        note: `powering droplet ${providerId} back on`,
      };
    }
    return { wait: null, again: false, note: `droplet ${providerId} is on ${plan}` };
  }

  /**
   * A few waits are read droplet by droplet; more share one listing of the account's
   * droplets. An action is read only when the droplet cannot tell: it is unlocked yet not
   * where the wait wants it (the action may have errored), or still `new` long after its
   * create began (only the create action says whether it errored).
   */
  async checkWaits(waits: ServerWait[], ctx: CallContext): Promise<WaitCheck[]> {
    const droplets = new Map<string, DoDroplet>();
    const ids = new Set(waits.map((w) => w.providerId));
    // In a big account listing every page can cost more than reading the few droplets waited on.
    if (ids.size <= Math.max(FEW_WAITS, this.accountPages)) {
      for (const id of ids) {
        const droplet = await this.getDroplet(id, ctx);
        if (droplet) droplets.set(id, droplet);
      }
    } else {
      const all = await this.listAll<DoDroplet>('droplets', 'droplets', ctx);
      this.accountPages = Math.max(1, Math.ceil(all.length / this.pageSize));
      for (const droplet of all) droplets.set(String(droplet.id), droplet);
    }
    const actions = new Map<string, ActionState>();
    let actionReads = 0;
    const checks: WaitCheck[] = [];
    for (const wait of waits) {
      const droplet = droplets.get(wait.providerId);
      const server = droplet ? toServer(droplet) : null;
      let check = judgeWait(wait, server);
      // A wait made for a droplet found by its marker (or by waitUntilRunning) knows no create
      // action; a droplet still `new` long after is then asked for it in its action list.
      const findCreate = !wait.actionIds?.length && wait.until === 'running' && droplet?.status === 'new';
      if (check.state === 'waiting' && droplet && ((wait.actionIds?.length ?? 0) > 0 || findCreate) && actionReads < MAX_ACTION_READS) {
        const inconclusive = droplet.status === 'new' ? Date.now() - (wait.since ?? Date.now()) > CREATE_ACTION_CHECK_AFTER_MS : !droplet.locked;
        if (inconclusive && findCreate) {
          actionReads++;
          const create = await this.createActionOf(wait.providerId, ctx);
          if (create) {
            actions.set(String(create.id), actionState(create));
            check = judgeWait({ ...wait, actionIds: [String(create.id)] }, server, actions);
          }
        } else if (inconclusive) {
          for (const id of wait.actionIds ?? []) {
            if (actions.has(id)) continue;
            actionReads++;
            const action = await this.getAction(Number(id), ctx).catch((err: unknown) => {
              if (isNotFound(err)) return null;
              throw err;
            });
            if (action) actions.set(id, actionState(action));
          }
          check = judgeWait(wait, server, actions);
        }
      }
      checks.push(check);
    }
    return checks;
  }

  /** Usage series from the provider's monitoring API (monitoring.ts says what it offers). */
  metrics(providerId: string, range: MetricsRange, ctx: CallContext): Promise<ServerMetrics> {
    return readDigitalOceanMetrics(this.http, providerId, range, ctx);
  }

  async requestConsole(_providerId: string, _ctx: CallContext): Promise<ConsoleAccess> {
    throw new EngineError(ErrorCodes.CONSOLE_UNSUPPORTED, 'DigitalOcean offers no console through its API');
  }

  async listRegions(ctx: CallContext): Promise<CatalogRegion[]> {
    const regions = await this.listAll<DoRegion>('regions', 'regions', ctx);
    return regions.map((r) => ({ provider: PROVIDER, id: r.slug, name: r.name ?? r.slug, available: r.available !== false }));
  }

  async listPlans(ctx: CallContext): Promise<CatalogPlan[]> {
    const sizes = await this.listAll<DoSize>('sizes', 'sizes', ctx);
    return sizes
      .filter((s) => s.available !== false)
      .map((s) => ({
        provider: PROVIDER,
        id: s.slug,
        vcpus: s.vcpus ?? 0,
        memory_mb: s.memory ?? 0,
        disk_gb: s.disk ?? 0,
        price_monthly: s.price_monthly ?? 0,
        price_hourly: s.price_hourly ?? 0,
        currency: 'USD',
        regions: s.regions ?? [],
      }));
  }

  async listImages(ctx: CallContext): Promise<CatalogImage[]> {
    const images = await this.listAll<DoImage>('images', 'images', ctx);
    return images.map((i) => ({
      provider: PROVIDER,
      id: i.slug ?? String(i.id),
      name: i.name ?? i.slug ?? String(i.id),
      distribution: i.distribution ?? '',
    }));
  }

  private async startAction(providerId: string, body: Record<string, unknown>, ctx: CallContext): Promise<DoAction> {
    const res = await this.http.request<{ action?: DoAction }>('POST', `droplets/${encodeId(providerId)}/actions`, {
      signal: ctx.signal,
      body,
    });
    const action = expectAction(res.body?.action, `POST /droplets/${providerId}/actions`);
    if (action.status === 'errored') throw actionFailed(`${String(body.type)} action ${action.id} on droplet ${providerId} errored`);
    return action;
  }

  /** The newest `type` action on the droplet that an earlier run may have sent (see newestActionSince). */
  private async actionSince(providerId: string, type: string, since: number, ctx: CallContext): Promise<DoAction | null> {
    const actions = await this.listAll<DoAction>(`droplets/${encodeId(providerId)}/actions`, 'actions', ctx);
    return newestActionSince(actions, since, (a) => a.started_at, (a) => a.type === type);
  }

  private settledWait(providerId: string): ServerWait {
    return { providerId, until: 'settled', label: `droplet ${providerId} to finish its running action` };
  }

  protected runningLabel(providerId: string): string {
    return `droplet ${providerId} to become active`;
  }

  protected runningNote(server: ProviderServer): string {
    return `droplet ${server.providerId} is active at ${server.ipv4}`;
  }

  protected timing(): InProcessTiming {
    return { pollIntervalMs: this.pollIntervalMs, waitTimeoutMs: this.waitTimeoutMs };
  }

  async listServers(ctx: CallContext): Promise<ProviderServer[]> {
    const droplets = await this.listAll<DoDroplet>('droplets', 'droplets', ctx);
    return droplets.map(toServer);
  }

  private async getDroplet(providerId: string, ctx: CallContext): Promise<DoDroplet | null> {
    try {
      const res = await this.http.request<{ droplet?: DoDroplet }>('GET', `droplets/${encodeId(providerId)}`, {
        signal: ctx.signal,
      });
      return expectDroplet(res.body?.droplet, `GET /droplets/${providerId}`);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** The droplet's create action, from its action list; null when it has none or is gone. */
  private async createActionOf(providerId: string, ctx: CallContext): Promise<DoAction | null> {
    try {
      const actions = await this.listAll<DoAction>(`droplets/${encodeId(providerId)}/actions`, 'actions', ctx);
      return actions.find((a) => a.type === 'create') ?? null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  private async getAction(actionId: number, ctx: CallContext): Promise<DoAction> {
    const res = await this.http.request<{ action?: DoAction }>('GET', `actions/${actionId}`, { signal: ctx.signal });
    return expectAction(res.body?.action, `GET /actions/${actionId}`);
  }

  /** Reads every page of a collection by following `links.pages.next` until it is absent. */
  private async listAll<T>(
    path: string,
    key: string,
    ctx: CallContext,
    query: Record<string, string> = {},
  ): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined = path;
    let first = true;
    for (let page = 0; next !== undefined; page++) {
      if (page >= MAX_PAGES) throw badResponse(`GET /${path} did not stop paginating after ${MAX_PAGES} pages`);
      // Only the first request carries our query; `next` links already hold it.
      const res: HttpResponse<Record<string, unknown>> = await this.http.request('GET', next, {
        signal: ctx.signal,
        query: first ? { per_page: this.pageSize, ...query } : undefined,
      });
      first = false;
      const batch: unknown = res.body?.[key];
      if (!Array.isArray(batch)) throw badResponse(`GET /${path} answered without a '${key}' list`);
      items.push(...(batch as T[]));
      const links = res.body?.links as DoLinks | undefined;
      const following = links?.pages?.next;
      next = typeof following === 'string' && following !== '' && batch.length > 0 ? following : undefined;
    }
    return items;
  }
}

/** DO error bodies are `{ id, message, request_id? }` (§1.7). */
export function parseDigitalOceanError(status: number, body: unknown): ParsedProviderError {
  if (body && typeof body === 'object') {
    const { id, message } = body as { id?: unknown; message?: unknown };
    return {
      providerCode: typeof id === 'string' ? id : undefined,
      message: typeof message === 'string' ? message : `HTTP ${status}`,
    };
  }
  return { message: typeof body === 'string' && body.trim() !== '' ? body : `HTTP ${status}` };
}

/**
 * §0 status table. `locked` means an action holds the droplet, so an active or off droplet
 * that is locked is mid-transition rather than settled.
 */
export function normalizeDropletStatus(status: string, locked: boolean | undefined): ServerStatus {
  switch (status) {
    case 'new':
      return 'provisioning';
    case 'active':
      return locked ? 'busy' : 'running';
    case 'off':
      return locked ? 'busy' : 'stopped';
    case 'archive':
      return 'gone';
    default:
      return 'unknown';
  }
}

export function toServer(droplet: DoDroplet): ProviderServer {
  const publicV4 = droplet.networks?.v4?.find((n) => n.type === 'public');
  const image = droplet.image;
  return {
    provider: PROVIDER,
    providerId: String(droplet.id),
    name: droplet.name,
    plan: droplet.size_slug ?? droplet.size?.slug ?? '',
    zone: droplet.region?.slug ?? '',
    image: image?.slug ?? (image?.id !== undefined && image?.id !== null ? String(image.id) : null),
    status: normalizeDropletStatus(droplet.status, droplet.locked),
    providerStatus: droplet.status,
    ipv4: publicV4?.ip_address ?? null,
    tags: droplet.tags ?? [],
    createdAt: droplet.created_at,
  };
}

function expectDroplet(value: unknown, what: string): DoDroplet {
  const d = value as DoDroplet | undefined;
  if (!d || typeof d !== 'object' || typeof d.id !== 'number' || typeof d.status !== 'string') {
    throw badResponse(`${what} answered without a droplet`);
  }
  return d;
}

function actionState(action: DoAction): ActionState {
  if (action.status === 'completed') return { status: 'done' };
  if (action.status === 'errored') return { status: 'error', message: `${action.type} errored` };
  return { status: 'running' };
}

function expectAction(value: unknown, what: string): DoAction {
  const a = value as DoAction | undefined;
  if (!a || typeof a !== 'object' || typeof a.id !== 'number' || typeof a.status !== 'string') {
    throw badResponse(`${what} answered without an action`);
  }
  return a;
}

