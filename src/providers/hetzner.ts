/**
 * Hetzner Cloud API v1 adapter (PROVIDERS.md §2). Whether it talks to the real API or the
 * local sandbox depends only on `baseUrl` and `token`.
 *
 * Everything asynchronous on Hetzner is an action object; the adapter starts one, then
 * polls it at `/actions/{id}` until it ends `success` or `error`. Servers carry the
 * operation marker as the label `pe-op=<operation id>`.
 */
import { ProviderHttpClient, type HttpResponse, type ProviderHttpClientOptions } from './http-client.js';
import { tagProblems, tagToLabel, tagsToLabels } from './hetzner-labels.js';
import {
  PROVIDER,
  type HcAction,
  type HcImage,
  type HcLocation,
  type HcPagination,
  type HcServer,
  type HcServerType,
  actionFailed,
  badResponse,
  decimal,
  expectAction,
  expectServer,
  hetznerRateLimitWaitMs,
  isLocked,
  isNotFound,
  notFound,
  parseHetznerError,
  rejected,
  toServer,
} from './hetzner-schema.js';
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
} from './types.js';
import { encodeId, progressReporter, pollPause } from './adapter-kit.js';

export interface HetznerProviderOptions {
  /** `https://api.hetzner.cloud/v1`, or the sandbox's `http://127.0.0.1:PORT/hetzner/v1`. */
  baseUrl: string;
  token: string;
  /** Pause between polls of a server or action. */
  pollIntervalMs?: number;
  /** `per_page` for listings; the API allows 1..50. */
  listPageSize?: number;
  /** How long a wait for a server or action polls before giving up with PROVIDER_TIMEOUT. */
  waitTimeoutMs?: number;
  http?: Partial<Omit<ProviderHttpClientOptions, 'provider' | 'baseUrl' | 'parseError'>>;
}

const MAX_PAGE_SIZE = 50;
/** A guard against a provider whose pagination never ends. */
const MAX_PAGES = 10_000;
/** hcloud-go asks for at most this many actions in one `GET /actions?id=…`. */
const ACTIONS_PER_REQUEST = 25;
/** Statuses that end by themselves; an action acting on the server is still running. */
const TRANSITIONAL = new Set(['initializing', 'starting', 'stopping', 'migrating', 'rebuilding']);
const POWER_ENDPOINTS: Record<PowerAction, string> = { power_on: 'poweron', power_off: 'poweroff', reboot: 'reboot' };

export class HetznerProvider implements Provider {
  readonly name = PROVIDER;
  readonly defaultImage = 'ubuntu-24.04';
  readonly supportsConsole = true;
  private readonly http: ProviderHttpClient;
  private readonly pollIntervalMs: number;
  private readonly pageSize: number;
  private readonly waitTimeoutMs: number;
  /**
   * The create's action ids (create_server, start_server) by server id, so waitUntilRunning
   * can see a create that failed, which the server itself only shows as `off`. Presence
   * here also means the server is on its first boot.
   */
  private readonly createActions = new Map<string, number[]>();

  constructor(options: HetznerProviderOptions) {
    this.http = new ProviderHttpClient({
      ...options.http,
      provider: PROVIDER,
      baseUrl: options.baseUrl,
      headers: { ...(options.http?.headers ?? {}), authorization: `Bearer ${options.token}` },
      rateLimitWaitMs: options.http?.rateLimitWaitMs ?? hetznerRateLimitWaitMs,
      parseError: parseHetznerError,
    });
    this.pollIntervalMs = options.pollIntervalMs ?? 2_000;
    this.pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, options.listPageSize ?? MAX_PAGE_SIZE));
    this.waitTimeoutMs = options.waitTimeoutMs ?? 15 * 60_000;
  }

  async planCreate(input: CreateServerInput, ctx: CallContext): Promise<CreatePlan> {
    const [locations, types, images] = await Promise.all([
      this.listAll<HcLocation>('locations', 'locations', ctx),
      this.listAll<HcServerType>('server_types', 'server_types', ctx),
      this.listAll<HcImage>('images', 'images', ctx, { type: 'system' }),
    ]);
    const location = locations.find((l) => l.name === input.zone || String(l.id) === input.zone);
    const type = types.find((t) => t.name === input.plan || String(t.id) === input.plan);
    const namedImages = images.filter((i) => i.name === input.image || String(i.id) === input.image);
    const image = type?.architecture ? namedImages.find((i) => i.architecture === type.architecture) : namedImages[0];

    const problems: string[] = [];
    if (!location) problems.push(`unknown location '${input.zone}'`);
    if (!type) problems.push(`unknown server type '${input.plan}'`);
    else if (type.deprecated) problems.push(`server type '${input.plan}' is deprecated`);
    else if (location && !offeredIn(type).includes(location.name)) {
      problems.push(`server type '${input.plan}' is not offered in location '${location.name}'`);
    }
    if (namedImages.length === 0) problems.push(`unknown image '${input.image}'`);
    else if (!image) problems.push(`image '${input.image}' has no build for ${type?.architecture} server type '${input.plan}'`);
    problems.push(...tagProblems(input.tags));
    if (problems.length > 0) throw rejected(problems.join('; '));

    const price = type?.prices?.find((p) => p.location === location?.name);
    return {
      provider: PROVIDER,
      name: input.name,
      plan: input.plan,
      zone: input.zone,
      image: input.image,
      price_monthly: decimal(price?.price_monthly?.gross),
      price_hourly: decimal(price?.price_hourly?.gross),
    };
  }

  async findByMarker(marker: string, ctx: CallContext): Promise<ProviderServer | null> {
    const [key, value] = tagToLabel(markerTag(marker));
    const servers = await this.listAll<HcServer>('servers', 'servers', ctx, { label_selector: `${key}==${value}` });
    // A server on its way out is not one the operation can carry on with.
    const live = servers.filter((s) => s.status !== 'deleting');
    live.sort((a, b) => a.created.localeCompare(b.created) || a.id - b.id);
    const found = live[0];
    return found ? this.toServer(found) : null;
  }

  async createServer(input: CreateServerInput, ctx: CallContext): Promise<ProviderServer> {
    const labels = tagsToLabels([...input.tags, markerTag(input.marker)]);
    const res = await this.http.request<{ server?: HcServer; action?: HcAction; next_actions?: HcAction[] }>(
      'POST',
      'servers',
      {
        signal: ctx.signal,
        body: {
          name: input.name,
          server_type: input.plan,
          image: input.image,
          location: input.zone,
          labels,
          start_after_create: true,
          ssh_keys: input.sshKeys?.length ? input.sshKeys : undefined,
          user_data: input.userData,
        },
      },
    );
    const server = expectServer(res.body?.server, 'POST /servers');
    const actionIds = [res.body?.action, ...(res.body?.next_actions ?? [])]
      .filter((a): a is HcAction => typeof a?.id === 'number')
      .map((a) => a.id);
    this.createActions.set(String(server.id), actionIds);
    return this.toServer(server);
  }

  async getServer(providerId: string, ctx: CallContext): Promise<ProviderServer | null> {
    const server = await this.fetchServer(providerId, ctx);
    return server ? this.toServer(server) : null;
  }

  /**
   * Hetzner assigns the public IPv4 at create, so running is the only thing to wait for. A
   * server created without IPv4 is returned running with `ipv4: null`: waiting longer
   * would not give it one.
   */
  async waitUntilRunning(providerId: string, ctx: CallContext): Promise<ProviderServer> {
    const deadline = Date.now() + this.waitTimeoutMs;
    const report = progressReporter(ctx);
    let lookedUpCreateActions = false;
    for (;;) {
      const hc = await this.fetchServer(providerId, ctx);
      if (!hc) {
        this.createActions.delete(providerId);
        throw notFound(providerId, 'disappeared while waiting for it to be running');
      }
      const server = this.toServer(hc);
      if (server.status === 'running') {
        this.createActions.delete(providerId);
        report(`server ${providerId} is running at ${server.ipv4 ?? 'no public IPv4'}`);
        return server;
      }
      if (hc.status === 'deleting') {
        this.createActions.delete(providerId);
        throw actionFailed(`server ${providerId} is being deleted while waiting for it to be running`);
      }
      if (!this.createActions.has(providerId) && !lookedUpCreateActions) {
        lookedUpCreateActions = true;
        await this.rememberCreateActions(providerId, ctx);
      }
      const failed = (await this.getActions(this.createActions.get(providerId) ?? [], ctx)).find((a) => a.status === 'error');
      if (failed) {
        this.createActions.delete(providerId);
        throw actionFailed(`${failed.command} action ${failed.id} for server ${providerId} failed: ${describeActionError(failed)}`);
      }
      report(`server ${providerId} is ${hc.status}, waiting for running`);
      await this.pause(deadline, `server ${providerId} to be running`, ctx);
    }
  }

  /**
   * Deletes and waits until the server answers 404. Hetzner may refuse with `locked` while
   * another action holds the server; that is waited out, and a server already `deleting`
   * (an earlier attempt's delete) is simply waited for.
   */
  async deleteServer(providerId: string, ctx: CallContext): Promise<{ existed: boolean }> {
    const deadline = Date.now() + this.waitTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.http.request('DELETE', `servers/${encodeId(providerId)}`, { signal: ctx.signal });
        break;
      } catch (err) {
        // Gone after a refused attempt means someone else's delete finished meanwhile.
        if (isNotFound(err)) return { existed: attempt > 0 };
        if (!isLocked(err)) throw err;
      }
      const server = await this.fetchServer(providerId, ctx);
      if (!server) return { existed: true };
      if (server.status === 'deleting') break;
      ctx.onProgress?.(`server ${providerId} is locked by another action, waiting to delete it`);
      await this.pause(deadline, `server ${providerId} to accept the delete`, ctx);
    }
    this.createActions.delete(providerId);
    for (;;) {
      if (!(await this.fetchServer(providerId, ctx))) return { existed: true };
      ctx.onProgress?.(`server ${providerId} is being deleted`);
      await this.pause(deadline, `server ${providerId} to be deleted`, ctx);
    }
  }

  /**
   * Waits out whatever the server is doing, skips work already done (a rerun finding it
   * off or running), and reboots a stopped server by starting it, so every action ends
   * with the server where the caller asked, as on the other providers.
   */
  async powerAction(providerId: string, action: PowerAction, ctx: CallContext): Promise<ProviderServer> {
    const before = await this.settledServer(providerId, ctx);
    if (action === 'power_off' && before.status === 'off') return this.toServer(before);
    if (action === 'power_on' && before.status === 'running') return this.toServer(before);
    const endpoint = action === 'reboot' && before.status === 'off' ? 'poweron' : POWER_ENDPOINTS[action];
    await this.runAction(providerId, endpoint, undefined, ctx);
    const after = await this.fetchServer(providerId, ctx);
    if (!after) throw notFound(providerId, `disappeared during ${action}`);
    return this.toServer(after);
  }

  async listServers(ctx: CallContext): Promise<ProviderServer[]> {
    const servers = await this.listAll<HcServer>('servers', 'servers', ctx);
    return servers.map((s) => this.toServer(s));
  }

  /**
   * Hetzner changes the type of a powered-off server only. The disk is kept
   * (`upgrade_disk: false`) so the server can be moved back to a smaller type later.
   */
  async resize(providerId: string, plan: string, startAfter: boolean, ctx: CallContext): Promise<ProviderServer> {
    const server = await this.settledServer(providerId, ctx);
    const current = server.server_type?.name ?? '';
    if (current !== plan) {
      if (server.status !== 'off') {
        ctx.onProgress?.(`powering off server ${providerId} before changing its type`);
        await this.powerAction(providerId, 'power_off', ctx);
      }
      ctx.onProgress?.(`changing the type of server ${providerId} from ${current} to ${plan}`);
      await this.runAction(providerId, 'change_type', { server_type: plan, upgrade_disk: false }, ctx);
    }
    if (startAfter) {
      ctx.onProgress?.(`powering server ${providerId} back on`);
      await this.powerAction(providerId, 'power_on', ctx);
    }
    const after = await this.fetchServer(providerId, ctx);
    if (!after) throw notFound(providerId, 'disappeared during the resize');
    return this.toServer(after);
  }

  /** VNC over websocket; the URL is valid for about a minute. */
  async requestConsole(providerId: string, ctx: CallContext): Promise<ConsoleAccess> {
    const body = await this.postServerAction<{ wss_url?: string; password?: string }>(providerId, 'request_console', undefined, ctx);
    const url = body?.wss_url;
    if (typeof url !== 'string' || url === '') throw badResponse(`request_console for server ${providerId} answered without a wss_url`);
    const password = body?.password;
    return { type: 'vnc-websocket', url, ...(typeof password === 'string' ? { password } : {}) };
  }

  async listRegions(ctx: CallContext): Promise<CatalogRegion[]> {
    const locations = await this.listAll<HcLocation>('locations', 'locations', ctx);
    return locations.map((l) => ({
      provider: PROVIDER,
      id: l.name,
      name: l.city ?? l.description ?? l.name,
      ...(l.country ? { country: l.country } : {}),
      available: true,
    }));
  }

  /**
   * One plan per server type with the gross (VAT-inclusive) EUR price of its cheapest
   * location; the price where a server will actually run comes from planCreate.
   */
  async listPlans(ctx: CallContext): Promise<CatalogPlan[]> {
    const types = await this.listAll<HcServerType>('server_types', 'server_types', ctx);
    return types
      .filter((t) => !t.deprecated)
      .map((t) => {
        const regions = offeredIn(t);
        const prices = (t.prices ?? []).filter((p) => regions.includes(p.location));
        const cheapest = prices.reduce<(typeof prices)[number] | undefined>(
          (best, p) =>
            best === undefined || (decimal(p.price_monthly?.gross) ?? Infinity) < (decimal(best.price_monthly?.gross) ?? Infinity)
              ? p
              : best,
          undefined,
        );
        return {
          provider: PROVIDER,
          id: t.name,
          vcpus: t.cores ?? 0,
          memory_mb: Math.round((t.memory ?? 0) * 1024),
          disk_gb: t.disk ?? 0,
          price_monthly: decimal(cheapest?.price_monthly?.gross) ?? 0,
          price_hourly: decimal(cheapest?.price_hourly?.gross) ?? 0,
          currency: 'EUR',
          regions,
        };
      });
  }

  /** System images, once per name: Hetzner lists an x86 and an Arm build under the same name. */
  async listImages(ctx: CallContext): Promise<CatalogImage[]> {
    const images = await this.listAll<HcImage>('images', 'images', ctx, { type: 'system' });
    const byName = new Map<string, CatalogImage>();
    for (const i of images) {
      const id = i.name ?? String(i.id);
      if (!byName.has(id)) {
        byName.set(id, { provider: PROVIDER, id, name: i.description ?? id, distribution: i.os_flavor ?? '' });
      }
    }
    return [...byName.values()];
  }

  // ---- internals ------------------------------------------------------------------------

  private toServer(server: HcServer): ProviderServer {
    return toServer(server, this.createActions.has(String(server.id)));
  }

  private async fetchServer(providerId: string, ctx: CallContext): Promise<HcServer | null> {
    try {
      const res = await this.http.request<{ server?: HcServer }>('GET', `servers/${encodeId(providerId)}`, {
        signal: ctx.signal,
      });
      return expectServer(res.body?.server, `GET /servers/${providerId}`);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** The server once no action holds it and it is in a status it keeps. */
  private async settledServer(providerId: string, ctx: CallContext): Promise<HcServer> {
    const deadline = Date.now() + this.waitTimeoutMs;
    for (;;) {
      const server = await this.fetchServer(providerId, ctx);
      if (!server) throw notFound(providerId, 'does not exist');
      if (server.status === 'deleting') throw notFound(providerId, 'is being deleted');
      if (!server.locked && !TRANSITIONAL.has(server.status)) return server;
      ctx.onProgress?.(`server ${providerId} is ${server.status}, waiting for its running action to finish`);
      await this.pause(deadline, `server ${providerId} to finish its running action`, ctx);
    }
  }

  /** Starts a server action and polls it until it ends; `error` becomes PROVIDER_ACTION_FAILED. */
  private async runAction(providerId: string, name: string, body: Record<string, unknown> | undefined, ctx: CallContext): Promise<void> {
    const started = await this.postServerAction<{ action?: HcAction }>(providerId, name, body, ctx);
    let action = expectAction(started?.action, `POST /servers/${providerId}/actions/${name}`);
    const deadline = Date.now() + this.waitTimeoutMs;
    for (;;) {
      if (action.status === 'success') return;
      if (action.status === 'error') {
        throw actionFailed(`${action.command} action ${action.id} on server ${providerId} failed: ${describeActionError(action)}`);
      }
      ctx.onProgress?.(`${action.command} of server ${providerId} is ${action.status} (${action.progress ?? 0}%)`);
      await this.pause(deadline, `${action.command} of server ${providerId}`, ctx);
      action = await this.getAction(action.id, ctx);
    }
  }

  /**
   * `POST /servers/{id}/actions/{name}`, waiting out `locked`: an action another caller
   * started in the meantime holds the server only until it finishes.
   */
  private async postServerAction<T>(
    providerId: string,
    name: string,
    body: Record<string, unknown> | undefined,
    ctx: CallContext,
  ): Promise<T | undefined> {
    const path = `servers/${encodeId(providerId)}/actions/${name}`;
    const deadline = Date.now() + this.waitTimeoutMs;
    for (;;) {
      try {
        return (await this.http.request<T>('POST', path, { signal: ctx.signal, body })).body;
      } catch (err) {
        if (!isLocked(err)) throw err;
      }
      ctx.onProgress?.(`server ${providerId} is locked by another action, waiting to ${name}`);
      await this.pause(deadline, `server ${providerId} to accept ${name}`, ctx);
    }
  }

  private async getAction(actionId: number, ctx: CallContext): Promise<HcAction> {
    const res = await this.http.request<{ action?: HcAction }>('GET', `actions/${actionId}`, { signal: ctx.signal });
    return expectAction(res.body?.action, `GET /actions/${actionId}`);
  }

  /** Several actions in as few requests as hcloud-go would use: `GET /actions?id=…&id=…`. */
  private async getActions(ids: readonly number[], ctx: CallContext): Promise<HcAction[]> {
    const actions: HcAction[] = [];
    for (let i = 0; i < ids.length; i += ACTIONS_PER_REQUEST) {
      const chunk = ids.slice(i, i + ACTIONS_PER_REQUEST);
      actions.push(...(await this.listAll<HcAction>('actions', 'actions', ctx, { id: chunk })));
    }
    return actions;
  }

  /**
   * A server created by another process (or before a restart) has no cached create
   * actions; its action list still has them, and only they can say the create failed.
   */
  private async rememberCreateActions(providerId: string, ctx: CallContext): Promise<void> {
    let actions: HcAction[];
    try {
      actions = await this.listAll<HcAction>(`servers/${encodeId(providerId)}/actions`, 'actions', ctx, { sort: 'id' });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    const ids = actions.filter((a) => a.command === 'create_server' || a.command === 'start_server').map((a) => a.id);
    if (ids.length > 0) this.createActions.set(providerId, ids);
  }

  /** Reads every page of a collection, following `meta.pagination.next_page` until it is null. */
  private async listAll<T>(
    path: string,
    key: string,
    ctx: CallContext,
    query: Record<string, string | readonly number[]> = {},
  ): Promise<T[]> {
    const items: T[] = [];
    for (let page = 1; ; page++) {
      if (page > MAX_PAGES) throw badResponse(`GET /${path} did not stop paginating after ${MAX_PAGES} pages`);
      const res: HttpResponse<Record<string, unknown>> = await this.http.request('GET', path, {
        signal: ctx.signal,
        query: { ...query, page, per_page: this.pageSize },
      });
      const batch: unknown = res.body?.[key];
      if (!Array.isArray(batch)) throw badResponse(`GET /${path} answered without a '${key}' list`);
      items.push(...(batch as T[]));
      const pagination = (res.body?.meta as { pagination?: HcPagination } | undefined)?.pagination;
      const next = pagination?.next_page;
      if (typeof next !== 'number' || next <= page || batch.length === 0) return items;
    }
  }

  private pause(deadline: number, waitingFor: string, ctx: CallContext): Promise<void> {
    return pollPause(PROVIDER, { deadline, pollIntervalMs: this.pollIntervalMs, waitTimeoutMs: this.waitTimeoutMs }, waitingFor, ctx);
  }
}

/** Where a server type can be created: its `locations` list, or where it has a price. */
function offeredIn(type: HcServerType): string[] {
  if (type.locations?.length) return type.locations.filter((l) => !l.deprecation).map((l) => l.name);
  return (type.prices ?? []).map((p) => p.location);
}

function describeActionError(action: HcAction): string {
  const message = action.error?.message ?? 'no reason given';
  return action.error?.code ? `${message} (${action.error.code})` : message;
}

