/**
 * Vultr API v2 adapter (PROVIDERS.md §3). Whether it talks to the real API or the local
 * sandbox depends only on `baseUrl` and `token`.
 *
 * Vultr has no action objects: every change answers at once (204, or 202 with the
 * instance) and the only way to learn that it finished is to poll the instance until its
 * three status fields (`status`, `power_status`, `server_status`) say so.
 */
import { ErrorCodes, ProviderError } from '../../common/errors.js';
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
  type PowerAction,
  type Provider,
  type ProviderServer,
  type ServerStatus,
  type ServerWait,
  type StepOutcome,
  type WaitCheck,
} from '../../common/provider.js';
import { readVultrBandwidth } from './bandwidth.js';
import { adapterErrors, encodeId, isNotFound, judgeWait, type InProcessTiming } from '../adapter-kit.js';

export interface VultrProviderOptions {
  /** `https://api.vultr.com/v2`, or the sandbox's `http://127.0.0.1:PORT/vultr/v2`. */
  baseUrl: string;
  /** The account's API key. */
  token: string;
  /** Pause between polls of an instance. */
  pollIntervalMs?: number;
  /** `per_page` for listings; the API allows 1..500. */
  listPageSize?: number;
  /** How long waitUntilRunning / deleteServer / powerAction / resize poll before giving up with PROVIDER_TIMEOUT. */
  waitTimeoutMs?: number;
  http?: Partial<Omit<ProviderHttpClientOptions, 'provider' | 'baseUrl' | 'parseError'>>;
}

/** The instance fields we read; the API sends many more. */
interface VultrInstance {
  id: string;
  label?: string;
  hostname?: string;
  plan?: string;
  region?: string;
  os_id?: number;
  app_id?: number;
  image_id?: string;
  status: string;
  power_status?: string;
  server_status?: string;
  main_ip?: string;
  kvm?: string;
  tags?: string[] | null;
  date_created?: string;
}

interface VultrMeta {
  total?: number;
  links?: { next?: string; prev?: string };
}

interface VultrRegion {
  id: string;
  city?: string;
  country?: string;
}

interface VultrPlan {
  id: string;
  vcpu_count?: number;
  ram?: number;
  disk?: number;
  monthly_cost?: number;
  hourly_cost?: number;
  locations?: string[];
}

interface VultrOs {
  id: number;
  name?: string;
  family?: string;
}

const PROVIDER = 'vultr';
const { notFound, actionFailed, badResponse } = adapterErrors(PROVIDER, 'instance');
const MAX_PAGE_SIZE = 500;
/** A guard against a provider whose `next` cursor never ends. */
const MAX_PAGES = 10_000;
/** What Vultr shows in `main_ip` before an address is assigned. */
const UNASSIGNED_IPV4 = '0.0.0.0';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Up to this many waits, reading each instance costs fewer requests than listing the account. */
const FEW_WAITS = 2;

/** What each power action asks of the API, and the power state that says it is done. */
const POWER_REQUESTS: Record<PowerAction, { path: 'halt' | 'start' | 'reboot'; settled: 'stopped' | 'running' }> = {
  power_off: { path: 'halt', settled: 'stopped' },
  power_on: { path: 'start', settled: 'running' },
  reboot: { path: 'reboot', settled: 'running' },
};

export class VultrProvider extends InProcessWaits implements Provider {
  protected readonly resourceWord = 'instance';
  readonly name = PROVIDER;
  /** Ubuntu 24.04 LTS x64 (§3.10). */
  readonly defaultImage = '2284';
  readonly supportsConsole = true;
  private readonly http: ProviderHttpClient;
  private readonly pollIntervalMs: number;
  private readonly pageSize: number;
  /** `per_page` of the listing checkWaits reads: the most the API allows unless told otherwise. */
  private readonly waitPageSize: number;
  private readonly waitTimeoutMs: number;

  constructor(options: VultrProviderOptions) {
    super();
    this.http = new ProviderHttpClient({
      ...options.http,
      provider: PROVIDER,
      baseUrl: options.baseUrl,
      headers: { ...(options.http?.headers ?? {}), authorization: `Bearer ${options.token}` },
      parseError: parseVultrError,
    });
    this.pollIntervalMs = options.pollIntervalMs ?? 2_000;
    this.pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, options.listPageSize ?? 100));
    this.waitPageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, options.listPageSize ?? MAX_PAGE_SIZE));
    this.waitTimeoutMs = options.waitTimeoutMs ?? 15 * 60_000;
  }

  async planCreate(input: CreateServerInput, ctx: CallContext): Promise<CreatePlan> {
    const [plans, regions, systems] = await Promise.all([
      this.listAll<VultrPlan>('plans', 'plans', ctx),
      this.listAll<VultrRegion>('regions', 'regions', ctx),
      this.listAll<VultrOs>('os', 'os', ctx),
    ]);
    const plan = plans.find((p) => p.id === input.plan);
    const region = regions.find((r) => r.id === input.zone);
    const os = systems.find((o) => String(o.id) === input.image);

    const problems: string[] = [];
    if (!region) problems.push(`unknown region '${input.zone}'`);
    if (!plan) problems.push(`unknown plan '${input.plan}'`);
    else if (region && plan.locations && !plan.locations.includes(region.id)) {
      problems.push(`plan '${input.plan}' is not offered in region '${input.zone}'`);
    }
    if (!os) problems.push(`unknown image '${input.image}' (an os_id from GET /os)`);
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
      price_monthly: plan?.monthly_cost,
      price_hourly: plan?.hourly_cost,
    };
  }

  async findByMarker(marker: string, ctx: CallContext): Promise<ProviderServer | null> {
    const instances = await this.listAll<VultrInstance>('instances', 'instances', ctx, { tag: markerTag(marker) });
    const servers = instances.map(toServer);
    servers.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    return servers[0] ?? null;
  }

  async createServer(input: CreateServerInput, ctx: CallContext): Promise<CreateOutcome> {
    const tags = [...new Set([...input.tags, markerTag(input.marker)])];
    const res = await this.http.request<{ instance?: VultrInstance }>('POST', 'instances', {
      signal: ctx.signal,
      body: {
        region: input.zone,
        plan: input.plan,
        ...bootSource(input.image),
        label: input.name,
        hostname: input.name,
        sshkey_id: input.sshKeys && input.sshKeys.length > 0 ? input.sshKeys : undefined,
        // §3.3: Vultr takes user data base64-encoded.
        user_data: input.userData === undefined ? undefined : Buffer.from(input.userData, 'utf8').toString('base64'),
        tags,
      },
    });
    const server = toServer(expectInstance(res.body?.instance, 'POST /instances'));
    return { server, wait: this.runningWait(server) };
  }

  /** Ready is active + running + ok with a `main_ip` other than 0.0.0.0. */
  runningWait(server: ProviderServer): ServerWait | null {
    if (server.status === 'running' && server.ipv4) return null;
    return { providerId: server.providerId, until: 'running', label: runningLabel(server.providerId) };
  }

  async getServer(providerId: string, ctx: CallContext): Promise<ProviderServer | null> {
    const instance = await this.getInstance(providerId, ctx);
    return instance ? toServer(instance) : null;
  }

  /** Vultr answers 204 and the instance is 404 soon after; the wait is for the 404. */
  async deleteStep(providerId: string, ctx: CallContext): Promise<StepOutcome> {
    try {
      await this.http.request('DELETE', `instances/${encodeId(providerId)}`, { signal: ctx.signal });
    } catch (err) {
      if (isNotFound(err)) return { wait: null, again: false, existed: false, note: `instance ${providerId} was already gone` };
      throw err;
    }
    return {
      wait: { providerId, until: 'gone', label: `instance ${providerId} to be destroyed` },
      again: false,
      existed: true,
      note: `instance ${providerId} is being destroyed`,
    };
  }

  /**
   * Vultr refuses any change while another holds the instance ("Server is currently
   * locked"), so a held instance is waited out first. A rerun finds the work already done
   * instead of repeating it. A reboot leaves nothing to see (the instance may never look
   * other than running), so its wait is for the instance running and settled again.
   */
  async powerStep(providerId: string, action: PowerAction, ctx: CallContext, earlier?: EarlierAttempt): Promise<StepOutcome> {
    const { path, settled } = POWER_REQUESTS[action];
    const before = await this.settledOrWait(providerId, `${action} of instance ${providerId}`, ctx);
    if ('wait' in before) return before;
    // Vultr records no actions and a reboot of a running instance leaves no state behind: one
    // an earlier attempt may have sent is not sent again (a reboot twice is worse than once).
    // An instance that is settled and halted is the exception: a reboot that reached it would
    // have booted it, so none did, and sending it now is its first.
    if (earlier && action === 'reboot' && before.instance.power_status !== 'stopped') {
      return {
        wait: { providerId, until: settled, label: `${action} of instance ${providerId}` },
        again: false,
        note: `an earlier attempt may have sent the reboot of instance ${providerId}; not sending it again`,
      };
    }
    if (action !== 'reboot' && before.instance.power_status === settled) {
      return { wait: null, again: false, note: `instance ${providerId} is already ${settled}` };
    }
    if (!(await this.send('POST', `instances/${encodeId(providerId)}/${path}`, undefined, ctx))) {
      return this.lockedOutcome(providerId, `${action} of instance ${providerId}`);
    }
    return {
      wait: { providerId, until: settled, label: `${action} of instance ${providerId}` },
      again: false,
      note: `${action} of instance ${providerId} requested`,
    };
  }

  /**
   * Vultr changes a plan without a power-off (§3.6: `PATCH` with `{plan}`, the instance shows
   * `resizing` until done), so the only power step is starting a halted instance afterwards
   * when the caller wants it running. A rerun that finds the plan already changed only does
   * that last step.
   */
  async resizeStep(providerId: string, plan: string, startAfter: boolean, ctx: CallContext): Promise<StepOutcome> {
    const before = await this.settledOrWait(providerId, `resize of instance ${providerId}`, ctx);
    if ('wait' in before) return before;
    const instance = before.instance;
    if (instance.plan !== plan) {
      if (!(await this.send('PATCH', `instances/${encodeId(providerId)}`, { plan }, ctx))) {
        return this.lockedOutcome(providerId, `resize of instance ${providerId}`);
      }
      return {
        wait: { providerId, until: 'settled', plan, label: `resize of instance ${providerId} to ${plan}` },
        again: true,
        note: `changing the plan of instance ${providerId} from ${instance.plan} to ${plan} (no power-off needed)`,
      };
    }
    if (startAfter && instance.power_status !== 'running') {
      if (!(await this.send('POST', `instances/${encodeId(providerId)}/start`, undefined, ctx))) {
        return this.lockedOutcome(providerId, `start of instance ${providerId}`);
      }
      return {
        wait: { providerId, until: 'running', label: `start of instance ${providerId} after its resize` },
        again: false,
        note: `instance ${providerId} is on plan ${plan}; starting it again`,
      };
    }
    return { wait: null, again: false, note: `instance ${providerId} is on plan ${plan}` };
  }

  /**
   * A few waits are read instance by instance; more share one listing of the account's
   * instances (500 a page). Vultr has no action objects, so the instances' three status
   * fields decide every wait; a suspended instance does not come back by waiting.
   */
  async checkWaits(waits: ServerWait[], ctx: CallContext): Promise<WaitCheck[]> {
    const instances = new Map<string, VultrInstance>();
    if (waits.length <= FEW_WAITS) {
      for (const id of new Set(waits.map((w) => w.providerId))) {
        const instance = await this.getInstance(id, ctx);
        if (instance) instances.set(id, instance);
      }
    } else {
      for (const instance of await this.listAll<VultrInstance>('instances', 'instances', ctx, {}, this.waitPageSize)) {
        instances.set(instance.id, instance);
      }
    }
    return waits.map((wait): WaitCheck => {
      const instance = instances.get(wait.providerId) ?? null;
      if (instance?.status === 'suspended' && wait.until !== 'gone') {
        return { state: 'failed', code: ErrorCodes.PROVIDER_ACTION_FAILED, message: `instance ${wait.providerId} is suspended (while waiting for ${wait.label})` };
      }
      const check = judgeWait(wait, instance ? toServer(instance) : null);
      // The whole triple says more than `status` alone (active/running/installingbooting).
      return check.state === 'waiting' && instance ? { state: 'waiting', status: describe(instance) } : check;
    });
  }

  /** Usage series from the provider's monitoring API (bandwidth.ts says what it offers). */
  metrics(providerId: string, range: MetricsRange, ctx: CallContext): Promise<ServerMetrics> {
    return readVultrBandwidth(this.http, providerId, range, ctx);
  }

  async requestConsole(providerId: string, ctx: CallContext): Promise<ConsoleAccess> {
    const instance = await this.getInstance(providerId, ctx);
    if (!instance) throw notFound(providerId, 'does not exist');
    if (!instance.kvm) {
      throw new ProviderError({
        provider: PROVIDER,
        code: ErrorCodes.PROVIDER_CONFLICT,
        retryable: true,
        message: `${PROVIDER}: instance ${providerId} has no console yet (it is ${describe(instance)})`,
      });
    }
    return { type: 'kvm-url', url: instance.kvm };
  }

  async listServers(ctx: CallContext): Promise<ProviderServer[]> {
    const instances = await this.listAll<VultrInstance>('instances', 'instances', ctx);
    return instances.map(toServer);
  }

  async listRegions(ctx: CallContext): Promise<CatalogRegion[]> {
    const regions = await this.listAll<VultrRegion>('regions', 'regions', ctx);
    return regions.map((r) => ({
      provider: PROVIDER,
      id: r.id,
      name: r.city ?? r.id,
      country: r.country,
      available: true,
    }));
  }

  async listPlans(ctx: CallContext): Promise<CatalogPlan[]> {
    const plans = await this.listAll<VultrPlan>('plans', 'plans', ctx);
    return plans.map((p) => ({
      provider: PROVIDER,
      id: p.id,
      vcpus: p.vcpu_count ?? 0,
      memory_mb: p.ram ?? 0,
      disk_gb: p.disk ?? 0,
      price_monthly: p.monthly_cost ?? 0,
      price_hourly: p.hourly_cost ?? 0,
      currency: 'USD',
      regions: p.locations ?? [],
    }));
  }

  async listImages(ctx: CallContext): Promise<CatalogImage[]> {
    const systems = await this.listAll<VultrOs>('os', 'os', ctx);
    return systems.map((o) => ({
      provider: PROVIDER,
      id: String(o.id),
      name: o.name ?? String(o.id),
      distribution: o.family ?? '',
    }));
  }

  /**
   * The instance when no task holds it (not pending, booting, resizing or locked);
   * otherwise the move that waits for that. Throws PROVIDER_NOT_FOUND when it is gone and
   * PROVIDER_ACTION_FAILED when it is suspended.
   */
  private async settledOrWait(providerId: string, before: string, ctx: CallContext): Promise<{ instance: VultrInstance } | StepOutcome> {
    const instance = await this.getInstance(providerId, ctx);
    if (!instance) throw notFound(providerId, 'does not exist');
    if (instance.status === 'suspended') throw actionFailed(`instance ${providerId} is suspended`);
    const status = normalizeInstanceStatus(instance.status, instance.power_status, instance.server_status);
    if (status === 'running' || status === 'stopped') return { instance };
    return {
      wait: settledWait(providerId),
      again: true,
      note: `instance ${providerId} is ${describe(instance)}, waiting for it to settle before the ${before}`,
    };
  }

  /** What a step does when Vultr refused the change because a task holds the instance. */
  private lockedOutcome(providerId: string, before: string): StepOutcome {
    return { wait: settledWait(providerId), again: true, note: `instance ${providerId} is locked, waiting before the ${before}` };
  }

  /** Sends one change; false when Vultr refused it because the instance is locked (nothing changed). */
  private async send(method: string, path: string, body: unknown, ctx: CallContext): Promise<boolean> {
    try {
      await this.http.request(method, path, { signal: ctx.signal, body });
      return true;
    } catch (err) {
      if (err instanceof ProviderError && /currently locked/i.test(err.message)) return false;
      throw err;
    }
  }

  protected runningLabel(providerId: string): string {
    return runningLabel(providerId);
  }

  protected runningNote(server: ProviderServer): string {
    return `instance ${server.providerId} is active at ${server.ipv4}`;
  }

  protected timing(): InProcessTiming {
    return { pollIntervalMs: this.pollIntervalMs, waitTimeoutMs: this.waitTimeoutMs };
  }

  private async getInstance(providerId: string, ctx: CallContext): Promise<VultrInstance | null> {
    try {
      const res = await this.http.request<{ instance?: VultrInstance }>('GET', `instances/${encodeId(providerId)}`, {
        signal: ctx.signal,
      });
      return expectInstance(res.body?.instance, `GET /instances/${providerId}`);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Reads every page of a collection by passing `meta.links.next` back as `cursor` until it is empty. */
  private async listAll<T>(
    path: string,
    key: string,
    ctx: CallContext,
    filter: Record<string, string> = {},
    pageSize: number = this.pageSize,
  ): Promise<T[]> {
    const items: T[] = [];
    const seenCursors = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES) throw badResponse(`GET /${path} did not stop paginating after ${MAX_PAGES} pages`);
      // Filters go with every page: a Vultr cursor is only a position in the filtered list.
      const res: HttpResponse<Record<string, unknown>> = await this.http.request('GET', path, {
        signal: ctx.signal,
        query: { ...filter, per_page: pageSize, cursor },
      });
      const batch: unknown = res.body?.[key];
      if (!Array.isArray(batch)) throw badResponse(`GET /${path} answered without a '${key}' list`);
      items.push(...(batch as T[]));
      const next = (res.body?.meta as VultrMeta | undefined)?.links?.next;
      if (typeof next !== 'string' || next === '' || batch.length === 0) return items;
      if (seenCursors.has(next)) throw badResponse(`GET /${path} handed out the cursor ${next} twice`);
      seenCursors.add(next);
      cursor = next;
    }
  }
}

/** Vultr error bodies are `{"error":"…","status":N}` (§3.7); the message is all there is. */
export function parseVultrError(status: number, body: unknown): ParsedProviderError {
  if (body && typeof body === 'object') {
    const { error } = body as { error?: unknown };
    if (typeof error === 'string' && error !== '') return { message: error };
  }
  return { message: typeof body === 'string' && body.trim() !== '' ? body : `HTTP ${status}` };
}

/**
 * §0 status table. `locked` and `resizing` mean a task holds the instance; `none` and
 * `installingbooting` on an active instance mean its first boot is still under way.
 */
export function normalizeInstanceStatus(
  status: string,
  powerStatus: string | undefined,
  serverStatus: string | undefined,
): ServerStatus {
  switch (status) {
    case 'pending':
      return 'provisioning';
    case 'resizing':
    case 'suspended':
      return 'busy';
    case 'active':
      if (serverStatus === 'locked') return 'busy';
      if (powerStatus === 'stopped') return 'stopped';
      if (powerStatus !== 'running') return 'unknown';
      if (serverStatus === 'ok') return 'running';
      if (serverStatus === 'installingbooting' || serverStatus === 'none') return 'provisioning';
      return 'unknown';
    default:
      return 'unknown';
  }
}

export function toServer(instance: VultrInstance): ProviderServer {
  const ip = instance.main_ip;
  return {
    provider: PROVIDER,
    providerId: instance.id,
    name: instance.label || instance.hostname || '',
    plan: instance.plan ?? '',
    zone: instance.region ?? '',
    image: imageOf(instance),
    status: normalizeInstanceStatus(instance.status, instance.power_status, instance.server_status),
    // Vultr's own `status` (pending, active, resizing, suspended), as its API lists it.
    providerStatus: instance.status,
    ipv4: ip && ip !== UNASSIGNED_IPV4 ? ip : null,
    tags: instance.tags ?? [],
    createdAt: instance.date_created ?? '',
  };
}

/** `os_id` for an OS from GET /os, `snapshot_id` for a snapshot UUID, otherwise a marketplace `image_id`. */
function bootSource(image: string): Record<string, string | number> {
  if (/^\d+$/.test(image)) return { os_id: Number(image) };
  if (UUID.test(image)) return { snapshot_id: image };
  return { image_id: image };
}

function imageOf(instance: VultrInstance): string | null {
  if (instance.image_id) return instance.image_id;
  if (typeof instance.os_id === 'number' && instance.os_id > 0) return String(instance.os_id);
  return null;
}

function runningLabel(providerId: string): string {
  return `instance ${providerId} to become ready`;
}

function settledWait(providerId: string): ServerWait {
  return { providerId, until: 'settled', label: `instance ${providerId} to settle` };
}

function describe(instance: VultrInstance): string {
  return `${instance.status}/${instance.power_status ?? '?'}/${instance.server_status ?? '?'}`;
}

function expectInstance(value: unknown, what: string): VultrInstance {
  const i = value as VultrInstance | undefined;
  if (!i || typeof i !== 'object' || typeof i.id !== 'string' || typeof i.status !== 'string') {
    throw badResponse(`${what} answered without an instance`);
  }
  return i;
}

