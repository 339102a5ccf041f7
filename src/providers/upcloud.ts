/**
 * UpCloud API 1.3 adapter (PROVIDERS.md §4). Whether it talks to the real API or the local
 * sandbox depends only on `baseUrl` and the credentials: a token is sent as
 * `Authorization: Bearer`, a user name and password as HTTP Basic.
 *
 * UpCloud has no action objects: every operation answers with the server (or nothing) and
 * the adapter polls the server's `state` until it reads what the operation should end in.
 * A server can be deleted, and its plan changed, only while it is stopped, so delete and
 * resize stop it first and say so through ctx.onProgress.
 */
import { EngineError, ErrorCodes, ProviderError } from '../core/errors.js';
import { ProviderHttpClient, type ProviderHttpClientOptions } from './http-client.js';
import { MARKER_LABEL_KEY, labelsForTags } from './upcloud-labels.js';
import {
  type UcPlan,
  type UcPriceZone,
  type UcServer,
  type UcStorage,
  type UcZone,
  bootStorageOf,
  numberField,
  parseUpCloudError,
  planPrice,
  toProviderServer,
} from './upcloud-wire.js';
import type {
  CallContext,
  CatalogImage,
  CatalogPlan,
  CatalogRegion,
  ConsoleAccess,
  CreatePlan,
  CreateServerInput,
  PowerAction,
  Provider,
  ProviderServer,
} from './types.js';
import { encodeId, isNotFound, progressReporter, adapterErrors, pollPause } from './adapter-kit.js';

export interface UpCloudProviderOptions {
  /** `https://api.upcloud.com/1.3`, or the sandbox's `http://127.0.0.1:PORT/upcloud/1.3`. */
  baseUrl: string;
  /** An API token (`ucat_…`); preferred over a user name and password. */
  token?: string;
  /** An API (sub)account's user name, with `password`, for HTTP Basic. */
  username?: string;
  password?: string;
  /** Pause between polls of a server. */
  pollIntervalMs?: number;
  /** `limit` for server listings; UpCloud list endpoints allow 1..100. */
  listPageSize?: number;
  /** How long a wait for a server state polls before giving up with PROVIDER_TIMEOUT. */
  waitTimeoutMs?: number;
  http?: Partial<Omit<ProviderHttpClientOptions, 'provider' | 'baseUrl' | 'parseError'>>;
}

const PROVIDER = 'upcloud';
const { notFound, rejected, actionFailed, badResponse } = adapterErrors(PROVIDER, 'server');
/** Ubuntu Server 24.04 LTS, the template UUID a create clones (§4.10). */
export const UPCLOUD_DEFAULT_TEMPLATE = '01000000-0000-4000-8000-000030240200';
const MAX_PAGE_SIZE = 100;
/** A guard against an API that keeps answering full pages of new servers for ever. */
const MAX_PAGES = 10_000;
/** Seconds a soft stop may take before UpCloud turns it into a hard stop. */
const SOFT_STOP_TIMEOUT_SEC = '60';

export class UpCloudProvider implements Provider {
  readonly name = PROVIDER;
  readonly defaultImage = UPCLOUD_DEFAULT_TEMPLATE;
  readonly supportsConsole = false;
  private readonly http: ProviderHttpClient;
  private readonly pollIntervalMs: number;
  private readonly pageSize: number;
  private readonly waitTimeoutMs: number;
  /**
   * Template UUID by boot-disk UUID. A server does not name its template; its boot disk's
   * `origin` does, and never changes, so each disk is looked up once.
   */
  private readonly templateOfDisk = new Map<string, string | null>();

  constructor(options: UpCloudProviderOptions) {
    this.http = new ProviderHttpClient({
      ...options.http,
      provider: PROVIDER,
      baseUrl: options.baseUrl,
      headers: { ...(options.http?.headers ?? {}), authorization: authorizationHeader(options) },
      parseError: parseUpCloudError,
    });
    this.pollIntervalMs = options.pollIntervalMs ?? 2_000;
    this.pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, options.listPageSize ?? MAX_PAGE_SIZE));
    this.waitTimeoutMs = options.waitTimeoutMs ?? 15 * 60_000;
  }

  async planCreate(input: CreateServerInput, ctx: CallContext): Promise<CreatePlan> {
    const [zones, plans, prices, templates] = await Promise.all([
      this.zones(ctx),
      this.plans(ctx),
      this.prices(ctx),
      this.templates(ctx),
    ]);
    const zone = zones.find((z) => z.id === input.zone);
    const plan = plans.find((p) => p.name === input.plan);
    const template = templates.find((t) => t.uuid === input.image);
    const price = plan && zone ? planPrice(prices.find((p) => p.name === zone.id), plan.name) : undefined;

    const problems: string[] = [];
    if (!zone) problems.push(`unknown zone '${input.zone}'`);
    if (!plan) problems.push(`unknown plan '${input.plan}'`);
    else if (zone && !price) problems.push(`plan '${input.plan}' is not offered in zone '${input.zone}'`);
    if (!template) problems.push(`unknown image '${input.image}' (UpCloud takes a template UUID, e.g. ${UPCLOUD_DEFAULT_TEMPLATE})`);
    if (problems.length > 0) throw rejected(problems.join('; '));
    return {
      provider: PROVIDER,
      name: input.name,
      plan: input.plan,
      zone: input.zone,
      image: input.image,
      price_monthly: price?.monthly,
      price_hourly: price?.hourly,
    };
  }

  async findByMarker(marker: string, ctx: CallContext): Promise<ProviderServer | null> {
    const matches = await this.listSummaries(ctx, `${MARKER_LABEL_KEY}=${marker}`);
    matches.sort((a, b) => (a.created ?? 0) - (b.created ?? 0));
    for (const summary of matches) {
      // Listings carry no addresses; the details do.
      const server = await this.getServer(summary.uuid, ctx);
      if (server) return server;
    }
    return null;
  }

  async createServer(input: CreateServerInput, ctx: CallContext): Promise<ProviderServer> {
    // The boot disk gets the plan's included storage; the size must be given with the clone.
    const plan = (await this.plans(ctx)).find((p) => p.name === input.plan);
    const sshKeys = input.sshKeys ?? [];
    const res = await this.http.request<{ server?: UcServer }>('POST', 'server', {
      signal: ctx.signal,
      body: {
        server: {
          zone: input.zone,
          title: input.name,
          hostname: input.name,
          plan: input.plan,
          // Cloud-init templates (all current ones) need the metadata service, and user_data rides on it.
          metadata: 'yes',
          user_data: input.userData,
          labels: { label: labelsForTags(input.tags, input.marker) },
          // Without keys UpCloud makes a root password; the engine has nowhere to hand it over, so it is dropped.
          login_user: sshKeys.length > 0 ? { username: 'root', create_password: 'no', ssh_keys: { ssh_key: sshKeys } } : undefined,
          password_delivery: 'none',
          networking: {
            interfaces: {
              interface: [
                { type: 'public', ip_addresses: { ip_address: [{ family: 'IPv4' }] } },
                { type: 'utility', ip_addresses: { ip_address: [{ family: 'IPv4' }] } },
                { type: 'public', ip_addresses: { ip_address: [{ family: 'IPv6' }] } },
              ],
            },
          },
          storage_devices: {
            storage_device: [
              {
                action: 'clone',
                storage: input.image,
                title: `${input.name}-disk1`.slice(0, 64),
                size: plan ? numberField(plan.storage_size) || undefined : undefined,
                tier: 'maxiops',
              },
            ],
          },
        },
      },
    });
    const server = expectServer(res.body?.server, 'POST /server');
    const bootDisk = bootStorageOf(server);
    if (bootDisk) this.templateOfDisk.set(bootDisk, input.image);
    return toProviderServer(server, input.image);
  }

  async getServer(providerId: string, ctx: CallContext): Promise<ProviderServer | null> {
    const server = await this.fetchServer(providerId, ctx);
    return server ? this.toServer(server, ctx) : null;
  }

  async waitUntilRunning(providerId: string, ctx: CallContext): Promise<ProviderServer> {
    const deadline = Date.now() + this.waitTimeoutMs;
    const report = progressReporter(ctx);
    for (;;) {
      const server = await this.fetchServer(providerId, ctx);
      if (!server) throw notFound(providerId, 'disappeared while waiting for it to start');
      const normalized = await this.toServer(server, ctx);
      if (server.state === 'started' && normalized.ipv4) {
        report(`UpCloud server ${providerId} is started at ${normalized.ipv4}`);
        return normalized;
      }
      if (server.state === 'error') throw actionFailed(`server ${providerId} went into state error while it was being created`);
      // A new server goes maintenance → started; one that reads stopped will not start by itself.
      if (server.state === 'stopped') throw actionFailed(`server ${providerId} is stopped instead of starting after create`);
      const progress = server.progress !== undefined ? ` (${server.progress}% built)` : '';
      report(`UpCloud server ${providerId} is ${server.state}${progress}, waiting for started`);
      await this.pause(deadline, `server ${providerId} to start`, ctx);
    }
  }

  async deleteServer(providerId: string, ctx: CallContext): Promise<{ existed: boolean }> {
    let server = await this.fetchServer(providerId, ctx);
    if (!server) return { existed: false };
    const deadline = Date.now() + this.waitTimeoutMs;
    const report = progressReporter(ctx);
    while (server) {
      if (server.state === 'stopped') {
        report(`deleting UpCloud server ${providerId} and its storages`);
        // storages=1: without it the disks outlive the server and keep billing.
        const outcome = await this.attempt('DELETE', `server/${encodeId(providerId)}`, ctx, {
          query: { storages: 1, backups: 'delete' },
        });
        if (outcome !== 'conflict') break;
        // Someone started it meanwhile; look again after a pause rather than hammering DELETE.
        await this.pause(deadline, `server ${providerId} to be deletable`, ctx);
      } else if (server.state === 'started') {
        report(`stopping UpCloud server ${providerId} first: UpCloud deletes only stopped servers`);
        await this.stopAndWait(providerId, deadline, ctx);
      } else {
        report(`UpCloud server ${providerId} is ${server.state}; waiting for it to settle before stopping and deleting it`);
        await this.pause(deadline, `server ${providerId} to settle`, ctx);
      }
      server = await this.fetchServer(providerId, ctx);
    }
    // Confirm it is gone: a server that still answers was not deleted.
    while (await this.fetchServer(providerId, ctx)) {
      report(`UpCloud server ${providerId} is being deleted`);
      await this.pause(deadline, `server ${providerId} to be deleted`, ctx);
    }
    return { existed: true };
  }

  async powerAction(providerId: string, action: PowerAction, ctx: CallContext): Promise<ProviderServer> {
    const deadline = Date.now() + this.waitTimeoutMs;
    const report = progressReporter(ctx);
    for (;;) {
      const server = await this.fetchServer(providerId, ctx);
      if (!server) throw notFound(providerId, 'does not exist');
      const state = server.state;
      // Asking for the state a server is already in earns a 409; a rerun should find the work done.
      if (action === 'power_off' && state === 'stopped') return this.toServer(server, ctx);
      if (action === 'power_on' && state === 'started') return this.toServer(server, ctx);

      let outcome: 'done' | 'conflict' | 'gone' | 'settling';
      if (state === 'started' && action === 'power_off') {
        const stopped = await this.stopAndWait(providerId, deadline, ctx);
        if (stopped) return stopped;
        outcome = 'conflict';
      } else if (state === 'started') {
        outcome = await this.attempt('POST', `server/${encodeId(providerId)}/restart`, ctx, {
          body: { restart_server: { stop_type: 'soft', timeout: SOFT_STOP_TIMEOUT_SEC, timeout_action: 'destroy' } },
        });
      } else if (state === 'stopped') {
        // A reboot of a stopped server ends where DigitalOcean's does: running.
        if (action === 'reboot') report(`UpCloud server ${providerId} is stopped; starting it instead of restarting`);
        outcome = await this.attempt('POST', `server/${encodeId(providerId)}/start`, ctx, {});
      } else {
        // maintenance and error both settle by themselves; act on the state they settle in.
        report(`UpCloud server ${providerId} is ${state}; waiting for it to settle before ${action}`);
        outcome = 'settling';
      }
      if (outcome === 'gone') throw notFound(providerId, `disappeared during ${action}`);
      // Restart and start both end started (a restart passes through maintenance).
      if (outcome === 'done') return this.waitForState(providerId, 'started', deadline, ctx);
      // Refused because the state moved on, or still settling: look again after a pause.
      await this.pause(deadline, `server ${providerId} to settle`, ctx);
    }
  }

  async listServers(ctx: CallContext): Promise<ProviderServer[]> {
    const summaries = await this.listSummaries(ctx);
    // Listings carry no addresses or disks, so each server's details are read as well.
    const servers = await Promise.all(summaries.map((s) => this.getServer(s.uuid, ctx)));
    return servers.filter((s): s is ProviderServer => s !== null);
  }

  /** UpCloud changes the plan only of a stopped server (a started one answers 409 SERVER_STATE_ILLEGAL). */
  async resize(providerId: string, plan: string, startAfter: boolean, ctx: CallContext): Promise<ProviderServer> {
    const deadline = Date.now() + this.waitTimeoutMs;
    const server = await this.fetchServer(providerId, ctx);
    if (!server) throw notFound(providerId, 'does not exist');
    if (server.plan !== plan) {
      // Checked first so an unknown plan never costs the server a stop.
      if (!(await this.plans(ctx)).some((p) => p.name === plan)) throw rejected(`unknown plan '${plan}'`);
      if (server.state !== 'stopped') {
        ctx.onProgress?.(`stopping UpCloud server ${providerId} before resizing it: UpCloud changes the plan only of a stopped server`);
        await this.powerAction(providerId, 'power_off', ctx);
      }
      ctx.onProgress?.(`changing the plan of UpCloud server ${providerId} from ${server.plan ?? 'unknown'} to ${plan}`);
      await this.http.request('PUT', `server/${encodeId(providerId)}`, { signal: ctx.signal, body: { server: { plan } } });
      // The change runs in maintenance and ends stopped.
      await this.waitForState(providerId, 'stopped', deadline, ctx);
    }
    if (startAfter) {
      ctx.onProgress?.(`starting UpCloud server ${providerId} again after the resize`);
      return this.powerAction(providerId, 'power_on', ctx);
    }
    const after = await this.getServer(providerId, ctx);
    if (!after) throw notFound(providerId, 'disappeared during the resize');
    return after;
  }

  async requestConsole(): Promise<ConsoleAccess> {
    throw new EngineError(
      ErrorCodes.CONSOLE_UNSUPPORTED,
      'UpCloud console access is not available through this engine: UpCloud offers only VNC, which its API enables per server rather than handing out a session',
    );
  }

  async listRegions(ctx: CallContext): Promise<CatalogRegion[]> {
    const zones = await this.zones(ctx);
    return zones.map((z) => ({
      provider: PROVIDER,
      id: z.id,
      name: z.description ?? z.id,
      country: countryOf(z.id),
      available: z.public !== 'no',
    }));
  }

  async listPlans(ctx: CallContext): Promise<CatalogPlan[]> {
    const [plans, prices] = await Promise.all([this.plans(ctx), this.prices(ctx)]);
    return plans.map((p) => {
      const priced = prices
        .map((zone) => ({ zone: zone.name, price: planPrice(zone, p.name) }))
        .filter((z): z is { zone: string; price: { hourly: number; monthly: number } } => z.price !== undefined);
      // One figure per plan: the lowest zone price, as a catalogue's "from" price.
      const cheapest = priced.reduce<{ hourly: number; monthly: number } | undefined>(
        (min, z) => (min === undefined || z.price.hourly < min.hourly ? z.price : min),
        undefined,
      );
      return {
        provider: PROVIDER,
        id: p.name,
        vcpus: numberField(p.core_number),
        memory_mb: numberField(p.memory_amount),
        disk_gb: numberField(p.storage_size),
        price_monthly: cheapest?.monthly ?? 0,
        price_hourly: cheapest?.hourly ?? 0,
        currency: 'EUR',
        regions: priced.map((z) => z.zone),
      };
    });
  }

  async listImages(ctx: CallContext): Promise<CatalogImage[]> {
    const templates = await this.templates(ctx);
    return templates.map((t) => ({
      provider: PROVIDER,
      id: t.uuid,
      name: t.title ?? t.uuid,
      distribution: (t.title ?? '').split(' ')[0] ?? '',
    }));
  }

  // ---- helpers --------------------------------------------------------------------------

  private async fetchServer(providerId: string, ctx: CallContext): Promise<UcServer | null> {
    try {
      const res = await this.http.request<{ server?: UcServer }>('GET', `server/${encodeId(providerId)}`, { signal: ctx.signal });
      return expectServer(res.body?.server, `GET /server/${providerId}`);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  private async toServer(server: UcServer, ctx: CallContext): Promise<ProviderServer> {
    return toProviderServer(server, await this.templateOf(server, ctx));
  }

  private async templateOf(server: UcServer, ctx: CallContext): Promise<string | null> {
    const disk = bootStorageOf(server);
    if (!disk) return null;
    const known = this.templateOfDisk.get(disk);
    if (known !== undefined) return known;
    let origin: string | null = null;
    try {
      const res = await this.http.request<{ storage?: UcStorage }>('GET', `storage/${encodeId(disk)}`, { signal: ctx.signal });
      origin = typeof res.body?.storage?.origin === 'string' ? res.body.storage.origin : null;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.templateOfDisk.set(disk, origin);
    return origin;
  }

  /**
   * Sends a state-changing request. A 409 means the server moved to another state since we
   * looked (the caller looks again), a 404 that it is gone; both are answers, not failures.
   */
  private async attempt(
    method: string,
    path: string,
    ctx: CallContext,
    options: { body?: unknown; query?: Record<string, string | number> },
  ): Promise<'done' | 'conflict' | 'gone'> {
    try {
      await this.http.request(method, path, { signal: ctx.signal, ...options });
      return 'done';
    } catch (err) {
      if (err instanceof ProviderError && err.code === ErrorCodes.PROVIDER_CONFLICT) return 'conflict';
      if (isNotFound(err)) return 'gone';
      throw err;
    }
  }

  /**
   * The stop answer still reads `started`; the server reads `stopped` once the soft stop is
   * done. Null when UpCloud refused because the server was no longer started: the caller
   * looks at it again.
   */
  private async stopAndWait(providerId: string, deadline: number, ctx: CallContext): Promise<ProviderServer | null> {
    const outcome = await this.attempt('POST', `server/${encodeId(providerId)}/stop`, ctx, {
      body: { stop_server: { stop_type: 'soft', timeout: SOFT_STOP_TIMEOUT_SEC } },
    });
    if (outcome === 'gone') throw notFound(providerId, 'disappeared while stopping');
    if (outcome === 'conflict') return null;
    return this.waitForState(providerId, 'stopped', deadline, ctx);
  }

  private async waitForState(providerId: string, wanted: 'started' | 'stopped', deadline: number, ctx: CallContext): Promise<ProviderServer> {
    const report = progressReporter(ctx);
    for (;;) {
      const server = await this.fetchServer(providerId, ctx);
      if (!server) throw notFound(providerId, `disappeared while waiting for it to be ${wanted}`);
      if (server.state === wanted) return this.toServer(server, ctx);
      report(`UpCloud server ${providerId} is ${server.state}, waiting for ${wanted}`);
      await this.pause(deadline, `server ${providerId} to be ${wanted}`, ctx);
    }
  }

  /**
   * Every server summary, following `limit`/`offset`. UpCloud's own client does not page
   * this endpoint, so an API that ignores the parameters is expected: a short page, or one
   * with nothing new, ends the listing.
   */
  private async listSummaries(ctx: CallContext, labelFilter?: string): Promise<UcServer[]> {
    const seen = new Map<string, UcServer>();
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES) throw badResponse(`GET /server did not stop paginating after ${MAX_PAGES} pages`);
      const res = await this.http.request<{ servers?: { server?: unknown } }>('GET', 'server', {
        signal: ctx.signal,
        query: { label: labelFilter, limit: this.pageSize, offset: page * this.pageSize },
      });
      const batch = res.body?.servers?.server;
      if (!Array.isArray(batch)) throw badResponse('GET /server answered without a servers.server list');
      let fresh = 0;
      for (const item of batch) {
        const server = expectServer(item, 'GET /server');
        if (seen.has(server.uuid)) continue;
        seen.set(server.uuid, server);
        fresh++;
      }
      if (batch.length < this.pageSize || fresh === 0) return [...seen.values()];
    }
  }

  private async zones(ctx: CallContext): Promise<UcZone[]> {
    return this.collection<UcZone>('zone', 'zones', 'zone', ctx);
  }

  private async plans(ctx: CallContext): Promise<UcPlan[]> {
    return this.collection<UcPlan>('plan', 'plans', 'plan', ctx);
  }

  private async prices(ctx: CallContext): Promise<UcPriceZone[]> {
    return this.collection<UcPriceZone>('price', 'prices', 'zone', ctx);
  }

  private async templates(ctx: CallContext): Promise<UcStorage[]> {
    return this.collection<UcStorage>('storage/template', 'storages', 'storage', ctx);
  }

  /** UpCloud wraps collections twice: `{"zones":{"zone":[…]}}`. */
  private async collection<T>(path: string, outer: string, inner: string, ctx: CallContext): Promise<T[]> {
    const res = await this.http.request<Record<string, Record<string, unknown> | undefined>>('GET', path, { signal: ctx.signal });
    const list = res.body?.[outer]?.[inner];
    if (!Array.isArray(list)) throw badResponse(`GET /${path} answered without a ${outer}.${inner} list`);
    return list as T[];
  }

  private pause(deadline: number, waitingFor: string, ctx: CallContext): Promise<void> {
    return pollPause(PROVIDER, { deadline, pollIntervalMs: this.pollIntervalMs, waitTimeoutMs: this.waitTimeoutMs }, waitingFor, ctx);
  }
}

function authorizationHeader(options: UpCloudProviderOptions): string {
  if (options.token) return `Bearer ${options.token}`;
  if (options.username && options.password) {
    return `Basic ${Buffer.from(`${options.username}:${options.password}`, 'utf8').toString('base64')}`;
  }
  throw new Error('UpCloudProvider needs a token, or a username and password');
}

/** Zone ids start with the country's ISO code, except the United Kingdom's `uk`. */
function countryOf(zoneId: string): string {
  const prefix = zoneId.slice(0, 2).toUpperCase();
  return prefix === 'UK' ? 'GB' : prefix;
}

function expectServer(value: unknown, what: string): UcServer {
  const s = value as UcServer | undefined;
  if (!s || typeof s !== 'object' || typeof s.uuid !== 'string' || typeof s.state !== 'string') {
    throw badResponse(`${what} answered without a server`);
  }
  return s;
}

