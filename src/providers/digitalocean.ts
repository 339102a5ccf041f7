/**
 * DigitalOcean API v2 adapter (PROVIDERS.md §1). Whether it talks to the real API or the
 * local sandbox depends only on `baseUrl` and `token`.
 */
import { EngineError, ErrorCodes, ProviderError } from '../core/errors.js';
import {
  ProviderHttpClient,
  type HttpResponse,
  type ParsedProviderError,
  type ProviderHttpClientOptions,
} from './http-client.js';
import {
  markerTag,
  type CallContext,
  type CatalogImage,
  type CatalogPlan,
  type CatalogRegion,
  type ConsoleAccess,
  type CreatePlan,
  type CreateServerInput,
  type PowerAction,
  type Provider,
  type ProviderServer,
  type ServerStatus,
} from './types.js';
import { encodeId, isNotFound, adapterErrors, pollPause } from './adapter-kit.js';

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

export class DigitalOceanProvider implements Provider {
  readonly name = PROVIDER;
  readonly defaultImage = 'ubuntu-24-04-x64';
  readonly supportsConsole = false;
  private readonly http: ProviderHttpClient;
  private readonly pollIntervalMs: number;
  private readonly pageSize: number;
  private readonly waitTimeoutMs: number;
  /**
   * Create-action ids by droplet id, so waitUntilRunning can see an `errored` create that
   * the droplet itself would only show as a droplet stuck in `new`.
   */
  private readonly createActions = new Map<string, number>();

  constructor(options: DigitalOceanProviderOptions) {
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

  async createServer(input: CreateServerInput, ctx: CallContext): Promise<ProviderServer> {
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
      },
    });
    const droplet = expectDroplet(res.body?.droplet, 'POST /droplets');
    const createAction = res.body?.links?.actions?.find((a) => a.rel === 'create') ?? res.body?.links?.actions?.[0];
    if (createAction && typeof createAction.id === 'number') {
      this.createActions.set(String(droplet.id), createAction.id);
    }
    return toServer(droplet);
  }

  async getServer(providerId: string, ctx: CallContext): Promise<ProviderServer | null> {
    const droplet = await this.getDroplet(providerId, ctx);
    return droplet ? toServer(droplet) : null;
  }

  async waitUntilRunning(providerId: string, ctx: CallContext): Promise<ProviderServer> {
    const deadline = Date.now() + this.waitTimeoutMs;
    let lastReport = '';
    let lookedUpCreateAction = false;
    const report = (message: string) => {
      if (message !== lastReport) ctx.onProgress?.(message);
      lastReport = message;
    };
    for (;;) {
      const droplet = await this.getDroplet(providerId, ctx);
      if (!droplet) {
        this.createActions.delete(providerId);
        throw notFound(providerId, 'disappeared while waiting for it to become active');
      }
      const server = toServer(droplet);
      if (server.status === 'running' && server.ipv4) {
        this.createActions.delete(providerId);
        report(`droplet ${providerId} is active at ${server.ipv4}`);
        return server;
      }
      if (server.status === 'gone') {
        throw actionFailed(`droplet ${providerId} was archived while waiting for it to become active`);
      }
      if (droplet.status === 'new' && !this.createActions.has(providerId) && !lookedUpCreateAction) {
        lookedUpCreateAction = true;
        await this.rememberCreateAction(providerId, ctx);
      }
      const actionId = this.createActions.get(providerId);
      if (actionId !== undefined) {
        const action = await this.getAction(actionId, ctx).catch((err: unknown) => {
          // An action the API no longer knows tells us nothing; the droplet's own status still does.
          if (isNotFound(err)) return null;
          throw err;
        });
        if (!action) this.createActions.delete(providerId);
        else if (action.status === 'errored') {
          this.createActions.delete(providerId);
          throw actionFailed(`create action ${actionId} for droplet ${providerId} errored`);
        }
      }
      if (droplet.status === 'active') report(`droplet ${providerId} is active, waiting for its public IPv4`);
      else report(`droplet ${providerId} is ${droplet.status}, waiting for active`);
      await this.pause(deadline, `droplet ${providerId} to become active`, ctx);
    }
  }

  async deleteServer(providerId: string, ctx: CallContext): Promise<{ existed: boolean }> {
    try {
      await this.http.request('DELETE', `droplets/${encodeId(providerId)}`, { signal: ctx.signal });
    } catch (err) {
      if (isNotFound(err)) return { existed: false };
      throw err;
    }
    this.createActions.delete(providerId);
    const deadline = Date.now() + this.waitTimeoutMs;
    for (;;) {
      const droplet = await this.getDroplet(providerId, ctx);
      if (!droplet || droplet.status === 'archive') return { existed: true };
      ctx.onProgress?.(`droplet ${providerId} is being deleted`);
      await this.pause(deadline, `droplet ${providerId} to be deleted`, ctx);
    }
  }

  async powerAction(providerId: string, action: PowerAction, ctx: CallContext): Promise<ProviderServer> {
    const before = await this.getDroplet(providerId, ctx);
    if (!before) throw notFound(providerId, 'does not exist');
    // Asking an off droplet to power off (or an active one to power on) only earns a 422; a
    // rerun of the same operation should find the work already done instead.
    if (!before.locked) {
      if (action === 'power_off' && before.status === 'off') return toServer(before);
      if (action === 'power_on' && before.status === 'active') return toServer(before);
    }

    await this.runAction(providerId, { type: action }, ctx);
    const after = await this.getDroplet(providerId, ctx);
    if (!after) throw notFound(providerId, `disappeared during ${action}`);
    return toServer(after);
  }

  /** DigitalOcean resizes only a powered-off droplet (a running one answers 422). */
  async resize(providerId: string, plan: string, startAfter: boolean, ctx: CallContext): Promise<ProviderServer> {
    let droplet = await this.getDroplet(providerId, ctx);
    if (!droplet) throw notFound(providerId, 'does not exist');
    if (droplet.size_slug !== plan) {
      if (droplet.status !== 'off') {
        ctx.onProgress?.(`powering off droplet ${providerId} before resizing it`);
        await this.powerAction(providerId, 'power_off', ctx);
      }
      ctx.onProgress?.(`resizing droplet ${providerId} from ${droplet.size_slug} to ${plan}`);
      await this.runAction(providerId, { type: 'resize', size: plan, disk: false }, ctx);
    }
    if (startAfter) {
      ctx.onProgress?.(`powering droplet ${providerId} back on`);
      await this.powerAction(providerId, 'power_on', ctx);
    }
    droplet = await this.getDroplet(providerId, ctx);
    if (!droplet) throw notFound(providerId, 'disappeared during the resize');
    return toServer(droplet);
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

  /** Starts an action and polls it until it completes; `errored` becomes PROVIDER_ACTION_FAILED. */
  private async runAction(providerId: string, body: Record<string, unknown>, ctx: CallContext): Promise<void> {
    const res = await this.http.request<{ action?: DoAction }>('POST', `droplets/${encodeId(providerId)}/actions`, {
      signal: ctx.signal,
      body,
    });
    let current = expectAction(res.body?.action, `POST /droplets/${providerId}/actions`);
    const deadline = Date.now() + this.waitTimeoutMs;
    while (current.status !== 'completed') {
      if (current.status === 'errored') {
        throw actionFailed(`${String(body.type)} action ${current.id} on droplet ${providerId} errored`);
      }
      ctx.onProgress?.(`${String(body.type)} of droplet ${providerId} is ${current.status}`);
      await this.pause(deadline, `${String(body.type)} of droplet ${providerId}`, ctx);
      current = await this.getAction(current.id, ctx);
    }
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

  /**
   * A droplet created by another process (or before a restart) has no cached create action;
   * the droplet's action list still has it, and only the action can say the create errored.
   */
  private async rememberCreateAction(providerId: string, ctx: CallContext): Promise<void> {
    let actions: DoAction[];
    try {
      actions = await this.listAll<DoAction>(`droplets/${encodeId(providerId)}/actions`, 'actions', ctx);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    const create = actions.find((a) => a.type === 'create');
    if (create && typeof create.id === 'number') this.createActions.set(providerId, create.id);
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

  private pause(deadline: number, waitingFor: string, ctx: CallContext): Promise<void> {
    return pollPause(PROVIDER, { deadline, pollIntervalMs: this.pollIntervalMs, waitTimeoutMs: this.waitTimeoutMs }, waitingFor, ctx);
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

function expectAction(value: unknown, what: string): DoAction {
  const a = value as DoAction | undefined;
  if (!a || typeof a !== 'object' || typeof a.id !== 'number' || typeof a.status !== 'string') {
    throw badResponse(`${what} answered without an action`);
  }
  return a;
}

