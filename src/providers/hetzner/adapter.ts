/**
 * Hetzner Cloud API v1 adapter (PROVIDERS.md §2). Whether it talks to the real API or the
 * local sandbox depends only on `baseUrl` and `token`.
 *
 * Everything asynchronous on Hetzner is an action object; a step starts one and hands back
 * what to wait for, and checkWaits reads servers (one listing for many waits) and, only
 * when a server cannot tell, the actions themselves (`GET /actions?id=…`, 25 at a time)
 * until they end `success` or `error`. Servers carry the operation marker as the label
 * `pe-op=<operation id>`.
 */
import { ErrorCodes } from '../../common/errors.js';
import { InProcessWaits } from '../in-process-waits.js';
import { ProviderHttpClient, type HttpResponse, type ProviderHttpClientOptions } from '../http-client.js';
import { tagProblems, tagToLabel, tagsToLabels } from './labels.js';
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
} from './schema.js';
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
  type ServerWait,
  type StepOutcome,
  type WaitCheck,
} from '../../common/provider.js';
import { readHetznerMetrics } from './metrics.js';
import { encodeId, judgeWait, newestActionSince, pollPause, type ActionState, type InProcessTiming } from '../adapter-kit.js';

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
/** Up to this many waits, reading each server costs fewer requests than listing the project. */
const FEW_WAITS = 2;
/** Action lists of servers found by their marker one round may read (to see whether their create failed). */
const MAX_ACTION_LISTS = 5;
/** The commands each power action's actions carry (a reboot of an off server is a start). */
const POWER_COMMANDS: Record<PowerAction, readonly string[]> = { power_on: ['start_server'], power_off: ['stop_server'], reboot: ['reboot_server', 'start_server'] };
const POWER_ENDPOINTS: Record<PowerAction, string> = { power_on: 'poweron', power_off: 'poweroff', reboot: 'reboot' };

export class HetznerProvider extends InProcessWaits implements Provider {
  protected readonly resourceWord = 'server';
  readonly name = PROVIDER;
  readonly defaultImage = 'ubuntu-24.04';
  readonly supportsConsole = true;
  private readonly http: ProviderHttpClient;
  private readonly pollIntervalMs: number;
  private readonly pageSize: number;
  private readonly waitTimeoutMs: number;

  constructor(options: HetznerProviderOptions) {
    super();
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
    return found ? toServer(found) : null;
  }

  async createServer(input: CreateServerInput, ctx: CallContext): Promise<CreateOutcome> {
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
    const created = expectServer(res.body?.server, 'POST /servers');
    const server = toServer(created, true);
    // create_server and start_server: only they can say the create failed, which the server
    // itself shows only as `off`.
    const actionIds = [res.body?.action, ...(res.body?.next_actions ?? [])]
      .filter((a): a is HcAction => typeof a?.id === 'number')
      .map((a) => String(a.id));
    const wait = this.runningWait(server);
    if (wait && actionIds.length > 0) wait.actionIds = actionIds;
    return { server, wait };
  }

  /**
   * Hetzner assigns the public IPv4 at create, so running is the only thing to wait for. A
   * server created without IPv4 counts as running with `ipv4: null`: waiting longer would
   * not give it one.
   */
  runningWait(server: ProviderServer): ServerWait | null {
    if (server.status === 'running') return null;
    return { providerId: server.providerId, until: 'running', label: runningLabel(server.providerId) };
  }

  async getServer(providerId: string, ctx: CallContext): Promise<ProviderServer | null> {
    const server = await this.fetchServer(providerId, ctx);
    return server ? toServer(server) : null;
  }

  /**
   * Hetzner may refuse a delete with `locked` while another action holds the server; that is
   * waited out and the delete sent again, and a server already `deleting` (an earlier
   * attempt's delete) is simply waited for until it answers 404.
   */
  async deleteStep(providerId: string, ctx: CallContext): Promise<StepOutcome> {
    const gone: ServerWait = { providerId, until: 'gone', label: `server ${providerId} to be deleted` };
    try {
      await this.http.request('DELETE', `servers/${encodeId(providerId)}`, { signal: ctx.signal });
      return { wait: gone, again: false, existed: true, note: `server ${providerId} is being deleted` };
    } catch (err) {
      if (isNotFound(err)) return { wait: null, again: false, existed: false, note: `server ${providerId} was already gone` };
      if (!isLocked(err)) throw err;
    }
    const server = await this.fetchServer(providerId, ctx);
    // Gone after a refused delete means someone else's delete finished meanwhile.
    if (!server) return { wait: null, again: false, existed: true, note: `server ${providerId} is gone` };
    if (server.status === 'deleting') return { wait: gone, again: false, existed: true, note: `server ${providerId} is being deleted` };
    return {
      wait: settledWait(providerId, 'accept the delete'),
      again: true,
      existed: true,
      note: `server ${providerId} is locked by another action, waiting to delete it`,
    };
  }

  /**
   * Waits out whatever the server is doing, skips work already done (a rerun finding it off
   * or running), and reboots a stopped server by starting it, so every action ends with the
   * server where the caller asked, as on the other providers.
   */
  async powerStep(providerId: string, action: PowerAction, ctx: CallContext, earlier?: EarlierAttempt): Promise<StepOutcome> {
    if (earlier) {
      // The server's action list says whether the run that died got as far as sending it.
      const sent = await this.actionSince(providerId, POWER_COMMANDS[action], earlier.since, ctx);
      if (sent) {
        return {
          wait: { providerId, until: action === 'power_off' ? 'stopped' : 'running', actionIds: [String(sent.id)], label: `${action} of server ${providerId}` },
          again: false,
          note: `found ${sent.command} action ${sent.id} an earlier attempt sent to server ${providerId}; not sending it again`,
        };
      }
    }
    const before = await this.settledOrWait(providerId, action, ctx);
    if ('wait' in before) return before;
    const server = before.server;
    if (action === 'power_off' && server.status === 'off') return { wait: null, again: false, note: `server ${providerId} is already off` };
    if (action === 'power_on' && server.status === 'running') return { wait: null, again: false, note: `server ${providerId} is already running` };
    const startInstead = action === 'reboot' && server.status === 'off';
    const endpoint = startInstead ? 'poweron' : POWER_ENDPOINTS[action];
    const started = await this.startAction(providerId, endpoint, undefined, ctx);
    if (!started) return this.lockedOutcome(providerId, action);
    return {
      wait: {
        providerId,
        until: action === 'power_off' ? 'stopped' : 'running',
        actionIds: [String(started.id)],
        label: `${action} of server ${providerId}`,
      },
      again: false,
      note: startInstead
        ? `server ${providerId} is off; starting it instead of rebooting (action ${started.id})`
        : `${action} of server ${providerId} started (action ${started.id})`,
    };
  }

  /** The newest action with one of `commands` on the server that an earlier run may have sent (see newestActionSince). */
  private async actionSince(providerId: string, commands: readonly string[], since: number, ctx: CallContext): Promise<HcAction | null> {
    const actions = await this.listAll<HcAction>(`servers/${encodeId(providerId)}/actions`, 'actions', ctx);
    return newestActionSince(actions, since, (a) => a.started, (a) => commands.includes(a.command));
  }

  /**
   * Hetzner changes the type of a powered-off server only. The disk is kept
   * (`upgrade_disk: false`) so the server can be moved back to a smaller type later.
   */
  async resizeStep(providerId: string, plan: string, startAfter: boolean, ctx: CallContext): Promise<StepOutcome> {
    const before = await this.settledOrWait(providerId, 'its type change', ctx);
    if ('wait' in before) return before;
    const server = before.server;
    const current = server.server_type?.name ?? '';
    if (current !== plan) {
      if (server.status !== 'off') {
        const off = await this.startAction(providerId, 'poweroff', undefined, ctx);
        if (!off) return this.lockedOutcome(providerId, 'its type change');
        return {
          wait: { providerId, until: 'stopped', actionIds: [String(off.id)], label: `power_off of server ${providerId} before its type change` },
          again: true,
          note: `powering off server ${providerId} before changing its type`,
        };
      }
      const change = await this.startAction(providerId, 'change_type', { server_type: plan, upgrade_disk: false }, ctx);
      if (!change) return this.lockedOutcome(providerId, 'its type change');
      return {
        // change_type leaves the server off, on its new type.
        wait: { providerId, until: 'stopped', plan, actionIds: [String(change.id)], label: `type change of server ${providerId} to ${plan}` },
        again: true,
        note: `changing the type of server ${providerId} from ${current} to ${plan}`,
      };
    }
    if (startAfter && server.status !== 'running') {
      const on = await this.startAction(providerId, 'poweron', undefined, ctx);
      if (!on) return this.lockedOutcome(providerId, 'starting it');
      return {
        wait: { providerId, until: 'running', actionIds: [String(on.id)], label: `power_on of server ${providerId} after its type change` },
        again: false,
        note: `powering server ${providerId} back on`,
      };
    }
    // Nothing to say: a rerun that finds the work done reports nothing.
    return { wait: null, again: false };
  }

  /**
   * A few waits are read server by server; more share one listing of the project's servers
   * (50 a page). An action is read only when its server cannot decide: no action holds the
   * server any more and it is in a status it keeps, so its actions have ended and only they
   * say whether one failed. Those reads go out together, 25 ids per `GET /actions?id=…`.
   * A wait for a server found by its marker knows no create actions; when that server sits
   * `off`, its action list is read to see whether the create failed.
   */
  async checkWaits(waits: ServerWait[], ctx: CallContext): Promise<WaitCheck[]> {
    const servers = new Map<string, HcServer>();
    if (waits.length <= FEW_WAITS) {
      for (const id of new Set(waits.map((w) => w.providerId))) {
        const server = await this.fetchServer(id, ctx);
        if (server) servers.set(id, server);
      }
    } else {
      for (const server of await this.listAll<HcServer>('servers', 'servers', ctx)) servers.set(String(server.id), server);
    }

    const toConfirm = new Set<number>();
    const toLookUp = new Set<string>();
    for (const wait of waits) {
      const server = servers.get(wait.providerId);
      if (!server || wait.until === 'gone' || server.status === 'deleting') continue;
      if (server.locked || TRANSITIONAL.has(server.status)) continue;
      if (wait.actionIds?.length) {
        for (const id of wait.actionIds) if (/^\d+$/.test(id)) toConfirm.add(Number(id));
      } else if (wait.until === 'running' && server.status === 'off' && toLookUp.size < MAX_ACTION_LISTS) {
        toLookUp.add(wait.providerId);
      }
    }
    const actions = new Map<string, HcAction>();
    for (const action of await this.getActions([...toConfirm], ctx)) actions.set(String(action.id), action);
    const createActions = new Map<string, HcAction[]>();
    for (const id of toLookUp) createActions.set(id, await this.createActionsOf(id, ctx));

    return waits.map((wait) => {
      const server = servers.get(wait.providerId) ?? null;
      if (server?.status === 'deleting' && wait.until !== 'gone') {
        return wait.until === 'running'
          ? { state: 'failed', code: ErrorCodes.PROVIDER_ACTION_FAILED, message: `server ${wait.providerId} is being deleted while waiting for it to be running` }
          : { state: 'failed', code: ErrorCodes.PROVIDER_NOT_FOUND, message: `server ${wait.providerId} is being deleted while waiting for ${wait.label}` };
      }
      const known = wait.actionIds?.length
        ? wait.actionIds.map((id) => actions.get(id)).filter((a): a is HcAction => a !== undefined)
        : (createActions.get(wait.providerId) ?? []);
      const failed = known.find((a) => a.status === 'error');
      if (failed) {
        const preposition = failed.command === 'create_server' || (wait.until === 'running' && !wait.actionIds?.length) ? 'for' : 'on';
        return {
          state: 'failed',
          code: ErrorCodes.PROVIDER_ACTION_FAILED,
          message: `${failed.command} action ${failed.id} ${preposition} server ${wait.providerId} failed: ${describeActionError(failed)}`,
        };
      }
      const states = new Map<string, ActionState>(
        known.map((a) => [String(a.id), { status: a.status === 'success' ? 'done' : a.status === 'error' ? 'error' : 'running' }]),
      );
      return judgeWait(wait, server ? toServer(server, wait.until === 'running') : null, states, { ipRequired: false });
    });
  }

  async listServers(ctx: CallContext): Promise<ProviderServer[]> {
    const servers = await this.listAll<HcServer>('servers', 'servers', ctx);
    return servers.map((s) => toServer(s));
  }

  /** VNC over websocket; the URL is valid for about a minute. */
  /** Usage series from the provider's monitoring API (metrics.ts says what it offers). */
  metrics(providerId: string, range: MetricsRange, ctx: CallContext): Promise<ServerMetrics> {
    return readHetznerMetrics(this.http, providerId, range, ctx);
  }

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

  /**
   * The server when no action holds it and it is in a status it keeps; otherwise the move
   * that waits for that (an action on a held server would only earn `locked`).
   */
  private async settledOrWait(providerId: string, before: string, ctx: CallContext): Promise<{ server: HcServer } | StepOutcome> {
    const server = await this.fetchServer(providerId, ctx);
    if (!server) throw notFound(providerId, 'does not exist');
    if (server.status === 'deleting') throw notFound(providerId, 'is being deleted');
    if (!server.locked && !TRANSITIONAL.has(server.status)) return { server };
    return {
      wait: settledWait(providerId, 'finish its running action'),
      again: true,
      note: `server ${providerId} is ${server.status}, waiting for its running action to finish before ${before}`,
    };
  }

  /** What a step does when the action it sent was refused with `locked`: wait, then decide again. */
  private lockedOutcome(providerId: string, before: string): StepOutcome {
    return {
      wait: settledWait(providerId, 'finish its running action'),
      again: true,
      note: `server ${providerId} is locked by another action, waiting before ${before}`,
    };
  }

  /** Starts a server action; null when Hetzner refused it with `locked` (nothing was started). */
  private async startAction(providerId: string, name: string, body: Record<string, unknown> | undefined, ctx: CallContext): Promise<HcAction | null> {
    let res: HttpResponse<{ action?: HcAction }>;
    try {
      res = await this.http.request<{ action?: HcAction }>('POST', `servers/${encodeId(providerId)}/actions/${name}`, { signal: ctx.signal, body });
    } catch (err) {
      if (isLocked(err)) return null;
      throw err;
    }
    const action = expectAction(res.body?.action, `POST /servers/${providerId}/actions/${name}`);
    if (action.status === 'error') {
      throw actionFailed(`${action.command} action ${action.id} on server ${providerId} failed: ${describeActionError(action)}`);
    }
    return action;
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

  /** Several actions in as few requests as hcloud-go would use: `GET /actions?id=…&id=…`, 25 ids a request. */
  private async getActions(ids: readonly number[], ctx: CallContext): Promise<HcAction[]> {
    const actions: HcAction[] = [];
    for (let i = 0; i < ids.length; i += ACTIONS_PER_REQUEST) {
      const chunk = ids.slice(i, i + ACTIONS_PER_REQUEST);
      actions.push(...(await this.listAll<HcAction>('actions', 'actions', ctx, { id: chunk })));
    }
    return actions;
  }

  /**
   * A server created by another process (or before a restart) comes with no create action
   * ids; its action list still has them, and only they can say the create failed.
   */
  private async createActionsOf(providerId: string, ctx: CallContext): Promise<HcAction[]> {
    try {
      const actions = await this.listAll<HcAction>(`servers/${encodeId(providerId)}/actions`, 'actions', ctx, { sort: 'id' });
      return actions.filter((a) => a.command === 'create_server' || a.command === 'start_server');
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
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

  protected runningLabel(providerId: string): string {
    return runningLabel(providerId);
  }

  protected runningNote(server: ProviderServer): string {
    return `server ${server.providerId} is running at ${server.ipv4 ?? 'no public IPv4'}`;
  }

  protected timing(): InProcessTiming {
    return { pollIntervalMs: this.pollIntervalMs, waitTimeoutMs: this.waitTimeoutMs };
  }

  private pause(deadline: number, waitingFor: string, ctx: CallContext): Promise<void> {
    return pollPause(PROVIDER, { deadline, pollIntervalMs: this.pollIntervalMs, waitTimeoutMs: this.waitTimeoutMs }, waitingFor, ctx);
  }
}

function runningLabel(providerId: string): string {
  return `server ${providerId} to be running`;
}

function settledWait(providerId: string, what: string): ServerWait {
  return { providerId, until: 'settled', label: `server ${providerId} to ${what}` };
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

