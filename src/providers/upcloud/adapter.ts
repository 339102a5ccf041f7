/**
 * UpCloud API 1.3 adapter (PROVIDERS.md §4). Whether it talks to the real API or the local
 * sandbox depends only on `baseUrl` and the credentials: a token is sent as
 * `Authorization: Bearer`, a user name and password as HTTP Basic.
 *
 * UpCloud has no action objects: every operation answers with the server (or nothing) and
 * a step hands back the `state` to wait for, which checkWaits reads (one listing for many
 * waits). A server can be deleted, and its plan changed, only while it is stopped, so the
 * delete and resize steps stop it first and say so in their notes.
 */
import { AbortedError, EngineError, ErrorCodes, ProviderError } from '../../common/errors.js';
import { InProcessWaits } from '../in-process-waits.js';
import { deferLook } from '../request-budget.js';
import { ProviderHttpClient, type ProviderHttpClientOptions } from '../http-client.js';
import { MARKER_LABEL_KEY, labelsForTags } from './labels.js';
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
} from './wire.js';
import type {
  CallContext,
  CatalogImage,
  CatalogPlan,
  CatalogRegion,
  ConsoleAccess,
  CreateOutcome,
  EarlierAttempt,
  CreatePlan,
  CreateServerInput,
  PowerAction,
  Provider,
  ProviderServer,
  ServerWait,
  StepOutcome,
  WaitCheck,
} from '../../common/provider.js';
import { adapterErrors, encodeId, isNotFound, isRateLimited, judgeWait, type InProcessTiming } from '../adapter-kit.js';

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
const { notFound, rejected, badResponse } = adapterErrors(PROVIDER, 'server');
/** Ubuntu Server 24.04 LTS, the template UUID a create clones (§4.10). */
export const UPCLOUD_DEFAULT_TEMPLATE = '01000000-0000-4000-8000-000030240200';
const MAX_PAGE_SIZE = 100;
/** A guard against an API that keeps answering full pages of new servers for ever. */
const MAX_PAGES = 10_000;
/** Seconds a soft stop may take before UpCloud turns it into a hard stop. */
const SOFT_STOP_TIMEOUT_SEC = '60';
const STOP_BODY = { stop_server: { stop_type: 'soft', timeout: SOFT_STOP_TIMEOUT_SEC } };
/** Up to this many waits, reading each server costs fewer requests than listing the account. */
const FEW_WAITS = 2;
/** Servers one watcher round reads in full (see checkWaits); the rest are read at later looks. */
const MAX_DETAIL_READS = 20;

export class UpCloudProvider extends InProcessWaits implements Provider {
  protected readonly resourceWord = 'server';
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
  /**
   * Where the next watcher round's listing begins. A round cut short resumes at the page it
   * could not read and wraps round to the first, so on a big account under a tight budget the
   * last pages are read too, not the first few round after round.
   */
  private listingResumeAt = 0;
  /**
   * When a round last read each waiting server in full. A round's reads go to the waits read
   * least recently, so a few that stay undecided after their read (started, no address yet)
   * cannot take every round's reads while others wait for theirs.
   */
  private readonly detailReadAt = new Map<string, number>();

  constructor(options: UpCloudProviderOptions) {
    super();
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

  async createServer(input: CreateServerInput, ctx: CallContext): Promise<CreateOutcome> {
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
    const created = expectServer(res.body?.server, 'POST /server');
    const bootDisk = bootStorageOf(created);
    if (bootDisk) this.templateOfDisk.set(bootDisk, input.image);
    const server = toProviderServer(created, input.image);
    return { server, wait: this.runningWait(server) };
  }

  /** A new server goes maintenance → started, with its addresses from the create answer on. */
  runningWait(server: ProviderServer): ServerWait | null {
    if (server.status === 'running' && server.ipv4) return null;
    return { providerId: server.providerId, until: 'running', label: runningLabel(server.providerId) };
  }

  async getServer(providerId: string, ctx: CallContext): Promise<ProviderServer | null> {
    const server = await this.fetchServer(providerId, ctx);
    return server ? this.toServer(server, ctx) : null;
  }

  /**
   * UpCloud deletes only a stopped server: a started one is stopped first (one move), then
   * deleted with its storages (the next). Maintenance and error settle by themselves and
   * are waited out; a 409 means the state moved on since we looked, so we look again.
   */
  async deleteStep(providerId: string, ctx: CallContext): Promise<StepOutcome> {
    const server = await this.fetchServer(providerId, ctx);
    if (!server) return { wait: null, again: false, existed: false, note: `UpCloud server ${providerId} was already gone` };
    const path = `server/${encodeId(providerId)}`;
    if (server.state === 'stopped') {
      // storages=1: without it the disks outlive the server and keep billing.
      const outcome = await this.attempt('DELETE', path, ctx, { query: { storages: 1, backups: 'delete' } });
      if (outcome === 'conflict') return this.settleFirst(providerId, 'deleting it', true);
      if (outcome === 'gone') return { wait: null, again: false, existed: true, note: `UpCloud server ${providerId} is gone` };
      return {
        wait: { providerId, until: 'gone', label: `UpCloud server ${providerId} to be deleted` },
        again: false,
        existed: true,
        note: `deleting UpCloud server ${providerId} and its storages`,
      };
    }
    if (server.state === 'started') {
      const outcome = await this.attempt('POST', `${path}/stop`, ctx, { body: STOP_BODY });
      if (outcome === 'conflict') return this.settleFirst(providerId, 'stopping and deleting it', true);
      if (outcome === 'gone') return { wait: null, again: false, existed: true, note: `UpCloud server ${providerId} is gone` };
      return {
        wait: stoppedWait(providerId),
        again: true,
        existed: true,
        note: `stopping UpCloud server ${providerId} first: UpCloud deletes only stopped servers`,
      };
    }
    return this.settleFirst(providerId, 'stopping and deleting it', true, server.state);
  }

  /**
   * Asking for the state a server is already in earns a 409, so a rerun finds the work done
   * instead. A reboot of a stopped server starts it (it ends where DigitalOcean's does:
   * running); a restart and a start both end started (a restart passes through maintenance).
   */
  async powerStep(providerId: string, action: PowerAction, ctx: CallContext, earlier?: EarlierAttempt): Promise<StepOutcome> {
    const server = await this.fetchServer(providerId, ctx);
    if (!server) throw notFound(providerId, 'does not exist');
    const state = server.state;
    if (earlier && action === 'reboot' && state !== 'stopped') {
      // UpCloud records no actions: a restart that may have been sent is not sent again.
      return {
        wait: { providerId, until: 'running', label: `restart of UpCloud server ${providerId}` },
        again: false,
        note: `an earlier attempt may have sent the restart of UpCloud server ${providerId}; not sending it again`,
      };
    }
    if (action === 'power_off' && state === 'stopped') return { wait: null, again: false, note: `UpCloud server ${providerId} is already stopped` };
    if (action === 'power_on' && state === 'started') return { wait: null, again: false, note: `UpCloud server ${providerId} is already started` };
    if (state !== 'started' && state !== 'stopped') return this.settleFirst(providerId, action, false, state);

    const path = `server/${encodeId(providerId)}`;
    let outcome: 'done' | 'conflict' | 'gone';
    let sent: StepOutcome;
    if (state === 'started' && action === 'power_off') {
      outcome = await this.attempt('POST', `${path}/stop`, ctx, { body: STOP_BODY });
      sent = { wait: stoppedWait(providerId), again: false, note: `stopping UpCloud server ${providerId}` };
    } else if (state === 'started') {
      outcome = await this.attempt('POST', `${path}/restart`, ctx, {
        body: { restart_server: { stop_type: 'soft', timeout: SOFT_STOP_TIMEOUT_SEC, timeout_action: 'destroy' } },
      });
      sent = { wait: { providerId, until: 'running', label: `restart of UpCloud server ${providerId}` }, again: false, note: `restarting UpCloud server ${providerId}` };
    } else {
      outcome = await this.attempt('POST', `${path}/start`, ctx, {});
      sent = {
        wait: { providerId, until: 'running', label: `UpCloud server ${providerId} to start` },
        again: false,
        note:
          action === 'reboot'
            ? `UpCloud server ${providerId} is stopped; starting it instead of restarting`
            : `starting UpCloud server ${providerId}`,
      };
    }
    if (outcome === 'gone') throw notFound(providerId, `disappeared during ${action}`);
    // Refused because the state moved on since we looked: nothing was sent, look again once it settles.
    if (outcome === 'conflict') return this.settleFirst(providerId, action, false);
    return sent;
  }

  /** UpCloud changes the plan only of a stopped server (a started one answers 409 SERVER_STATE_ILLEGAL). */
  async resizeStep(providerId: string, plan: string, startAfter: boolean, ctx: CallContext): Promise<StepOutcome> {
    const server = await this.fetchServer(providerId, ctx);
    if (!server) throw notFound(providerId, 'does not exist');
    const path = `server/${encodeId(providerId)}`;
    if (server.plan !== plan) {
      // Checked first so an unknown plan never costs the server a stop.
      if (!(await this.plans(ctx)).some((p) => p.name === plan)) throw rejected(`unknown plan '${plan}'`);
      if (server.state === 'started') {
        const outcome = await this.attempt('POST', `${path}/stop`, ctx, { body: STOP_BODY });
        if (outcome === 'gone') throw notFound(providerId, 'disappeared while stopping');
        if (outcome === 'conflict') return this.settleFirst(providerId, 'resizing it', false);
        return {
          wait: stoppedWait(providerId),
          again: true,
          note: `stopping UpCloud server ${providerId} before resizing it: UpCloud changes the plan only of a stopped server`,
        };
      }
      if (server.state !== 'stopped') return this.settleFirst(providerId, 'resizing it', false, server.state);
      const outcome = await this.attempt('PUT', path, ctx, { body: { server: { plan } } });
      if (outcome === 'gone') throw notFound(providerId, 'disappeared during the resize');
      if (outcome === 'conflict') return this.settleFirst(providerId, 'resizing it', false);
      return {
        // The change runs in maintenance and ends stopped.
        wait: { providerId, until: 'stopped', plan, label: `plan change of UpCloud server ${providerId} to ${plan}` },
        again: true,
        note: `changing the plan of UpCloud server ${providerId} from ${server.plan ?? 'unknown'} to ${plan}`,
      };
    }
    if (startAfter && server.state !== 'started') {
      if (server.state !== 'stopped') return this.settleFirst(providerId, 'starting it', false, server.state);
      const outcome = await this.attempt('POST', `${path}/start`, ctx, {});
      if (outcome === 'gone') throw notFound(providerId, 'disappeared during the resize');
      if (outcome === 'conflict') return this.settleFirst(providerId, 'starting it', false);
      return {
        wait: { providerId, until: 'running', label: `UpCloud server ${providerId} to start after its resize` },
        again: false,
        note: `starting UpCloud server ${providerId} again after the resize`,
      };
    }
    // Nothing to say: a rerun that finds the work done reports nothing.
    return { wait: null, again: false };
  }

  /**
   * A few waits are read server by server (`GET /server/{uuid}`, with addresses); more share
   * one listing of the account's servers (100 a page). Listing items are summaries without
   * addresses, and offset paging can miss a server when the list shifts, so a wait the
   * listing says has ended (done or failed) is confirmed with that server's details: one
   * extra read per wait, once, when it ends. A wait still going costs nothing beyond the
   * listing.
   *
   * A round that meets a refusal (the account's budget, a 429) or runs out of time keeps what
   * it learned: waits judged from what was read are answered, the rest answer "waiting" with a
   * status saying they are read at the next look (deferLook), and the next round starts where
   * this one stopped (the listing at the page refused, the reads with the waits read least
   * recently). Thrown away whole, a round on a saturated account answered for none, round after
   * round, while the servers it was waiting for had long started.
   */
  async checkWaits(waits: ServerWait[], ctx: CallContext): Promise<WaitCheck[]> {
    const details = new Map<string, UcServer | null>();
    /** What cut the round short, if anything; what it did not get to is read at the next look. */
    let stoppedBy: unknown;
    if (waits.length <= FEW_WAITS) {
      for (const id of new Set(waits.map((w) => w.providerId))) {
        try {
          details.set(id, await this.fetchServer(id, ctx));
        } catch (err) {
          if (!endsRoundEarly(err, ctx, details.size > 0)) throw err;
          stoppedBy = err;
          break;
        }
      }
      return waits.map((wait) =>
        details.has(wait.providerId) ? this.judgeInFull(wait, details.get(wait.providerId) ?? null) : deferLook('not read (read at the next look)', stoppedBy),
      );
    }

    const listing = await this.roundListing(ctx);
    stoppedBy = listing.stoppedBy;
    const checks: Array<WaitCheck | undefined> = waits.map(() => undefined);
    const toRead: number[] = [];
    waits.forEach((wait, i) => {
      const summary = listing.servers.get(wait.providerId);
      // Not among the pages read: absence says nothing until the listing is whole.
      if (!summary && !listing.complete) {
        checks[i] = deferLook('not listed yet (read at the next look)', stoppedBy);
        return;
      }
      const fromList = judgeUpCloudWait(wait, summary ?? null, false);
      // Still waiting, or deleted: the listing is enough.
      if (fromList.state === 'waiting' || (wait.until === 'gone' && !summary)) checks[i] = fromList;
      else toRead.push(i);
    });

    // The listing lacks addresses, so a wait it shows over needs the server's own read. The
    // reads are capped per round and stop at the first refusal: a round that answers for some
    // waits and leaves the rest for the next look makes progress, one that reads hundreds of
    // servers and is then cut short answers for none. They go at the round's priority (the
    // watcher's polls), whose floor in the account's budget no backlog of mutations can take.
    // The boot disk is not looked up for the image: the create recorded it already.
    const byLastRead = [...toRead].sort((a, b) => (this.detailReadAt.get(waits[a]!.providerId) ?? 0) - (this.detailReadAt.get(waits[b]!.providerId) ?? 0));
    let reads = 0;
    for (const i of byLastRead) {
      const wait = waits[i]!;
      const later = () => deferLook(`${listing.servers.get(wait.providerId)?.state ?? 'unknown'} (read in full at the next look)`, stoppedBy);
      if (!details.has(wait.providerId)) {
        if (stoppedBy !== undefined || reads >= MAX_DETAIL_READS) {
          checks[i] = later();
          continue;
        }
        reads++;
        try {
          details.set(wait.providerId, await this.fetchServer(wait.providerId, ctx));
          this.detailReadAt.set(wait.providerId, Date.now());
        } catch (err) {
          if (!endsRoundEarly(err, ctx, true)) throw err;
          stoppedBy = err;
          checks[i] = later();
          continue;
        }
      }
      checks[i] = this.judgeInFull(wait, details.get(wait.providerId) ?? null);
    }
    // Only the waits of this round are remembered: the map stays as small as the account's waits.
    const current = new Set(waits.map((w) => w.providerId));
    for (const id of this.detailReadAt.keys()) if (!current.has(id)) this.detailReadAt.delete(id);
    return checks.map((check) => check ?? deferLook('not read (read at the next look)', stoppedBy));
  }

  /** A wait against the server's own read (null: 404); a done wait carries the server with the image recorded at its create. */
  private judgeInFull(wait: ServerWait, server: UcServer | null): WaitCheck {
    const check = judgeUpCloudWait(wait, server, true);
    if (check.state !== 'done' || !server) return check;
    const disk = bootStorageOf(server);
    return { state: 'done', server: toProviderServer(server, (disk && this.templateOfDisk.get(disk)) ?? null) };
  }

  /**
   * The account's servers for one watcher round: from where the last round stopped to the end
   * of the listing, then from the first page up to there. A refused page ends it there (what
   * was read is kept, `complete` false) and the next round begins at that page.
   */
  private async roundListing(ctx: CallContext): Promise<{ servers: Map<string, UcServer>; complete: boolean; stoppedBy?: unknown }> {
    const servers = new Map<string, UcServer>();
    const resumeAt = this.listingResumeAt;
    const stretches: Array<[number, number]> = resumeAt > 0 ? [[resumeAt, Infinity], [0, resumeAt]] : [[0, Infinity]];
    let pages = 0;
    for (const [from, to] of stretches) {
      for (let offset = from; offset < to; offset += this.pageSize) {
        if (++pages > MAX_PAGES) throw badResponse(`GET /server did not stop paginating after ${MAX_PAGES} pages`);
        let batch: UcServer[];
        try {
          batch = await this.listPage(ctx, offset);
        } catch (err) {
          if (!endsRoundEarly(err, ctx, servers.size > 0)) throw err;
          this.listingResumeAt = offset;
          return { servers, complete: false, stoppedBy: err };
        }
        let fresh = 0;
        for (const server of batch) {
          if (servers.has(server.uuid)) continue;
          servers.set(server.uuid, server);
          fresh++;
        }
        if (batch.length < this.pageSize || fresh === 0) break;
      }
    }
    this.listingResumeAt = 0;
    return { servers, complete: true };
  }

  async listServers(ctx: CallContext): Promise<ProviderServer[]> {
    const summaries = await this.listSummaries(ctx);
    // Listings carry no addresses or disks, so each server's details are read as well.
    const servers = await Promise.all(summaries.map((s) => this.getServer(s.uuid, ctx)));
    return servers.filter((s): s is ProviderServer => s !== null);
  }

  /**
   * Every server as the listing shows it (state, title, plan, zone, labels): one request per
   * 100 servers, where listServers adds one (or two) per server. For callers that compare many
   * servers with what they know (the reconcile). A summary carries neither addresses nor
   * disks, so `ipv4` and `image` are always null here.
   */
  async listServerSummaries(ctx: CallContext): Promise<ProviderServer[]> {
    return (await this.listSummaries(ctx)).map((s) => toProviderServer(s, null));
  }

  /** One server in full as far as its addresses go: one request, its image not looked up (null). */
  async readServerDetails(providerId: string, ctx: CallContext): Promise<ProviderServer | null> {
    const server = await this.fetchServer(providerId, ctx);
    if (!server) return null;
    const disk = bootStorageOf(server);
    return toProviderServer(server, (disk && this.templateOfDisk.get(disk)) ?? null);
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
   * The move that waits for a server in maintenance or error (both settle by themselves)
   * or one whose state moved on under a request, before deciding again.
   */
  private settleFirst(providerId: string, before: string, deleting: boolean, state?: string): StepOutcome {
    const outcome: StepOutcome = {
      wait: { providerId, until: 'settled', label: `UpCloud server ${providerId} to settle` },
      again: true,
      note:
        state === undefined
          ? `UpCloud server ${providerId} changed state meanwhile; waiting for it to settle before ${before}`
          : `UpCloud server ${providerId} is ${state}; waiting for it to settle before ${before}`,
    };
    return deleting ? { ...outcome, existed: true } : outcome;
  }

  protected runningLabel(providerId: string): string {
    return runningLabel(providerId);
  }

  protected runningNote(server: ProviderServer): string {
    return `UpCloud server ${server.providerId} is started at ${server.ipv4}`;
  }

  protected timing(): InProcessTiming {
    return { pollIntervalMs: this.pollIntervalMs, waitTimeoutMs: this.waitTimeoutMs };
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
      const batch = await this.listPage(ctx, page * this.pageSize, labelFilter);
      let fresh = 0;
      for (const server of batch) {
        if (seen.has(server.uuid)) continue;
        seen.set(server.uuid, server);
        fresh++;
      }
      if (batch.length < this.pageSize || fresh === 0) return [...seen.values()];
    }
  }

  /** One page of server summaries from `offset`. */
  private async listPage(ctx: CallContext, offset: number, labelFilter?: string): Promise<UcServer[]> {
    const res = await this.http.request<{ servers?: { server?: unknown } }>('GET', 'server', {
      signal: ctx.signal,
      query: { label: labelFilter, limit: this.pageSize, offset },
    });
    const batch = res.body?.servers?.server;
    if (!Array.isArray(batch)) throw badResponse('GET /server answered without a servers.server list');
    return batch.map((item) => expectServer(item, 'GET /server'));
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
}

/**
 * Whether `err` ends a watcher round early, keeping what it learned, rather than failing it:
 * a refusal (the account's budget, a 429: nothing was carried out, ask again later), or the
 * round's own signal (its time is up, or its lease passed on) once something was learned —
 * with nothing learned there is nothing to keep, and the abort goes to the caller as before.
 */
function endsRoundEarly(err: unknown, ctx: CallContext, learned: boolean): boolean {
  if (isRateLimited(err)) return true;
  return learned && err instanceof AbortedError && ctx.signal?.aborted === true;
}

function runningLabel(providerId: string): string {
  return `UpCloud server ${providerId} to start`;
}

function stoppedWait(providerId: string): ServerWait {
  return { providerId, until: 'stopped', label: `UpCloud server ${providerId} to stop` };
}

/**
 * One wait against a server as UpCloud shows it (details, or a listing's summary, which has
 * no addresses). A server waited for to be running that reads `error` or `stopped` will not
 * get there: a build or restart that went wrong ends in `error`, a start is `started` at
 * once and a restart passes through maintenance, never `stopped`.
 */
function judgeUpCloudWait(wait: ServerWait, server: UcServer | null, hasDetails: boolean): WaitCheck {
  if (server && wait.until === 'running') {
    if (server.state === 'error') {
      return { state: 'failed', code: ErrorCodes.PROVIDER_ACTION_FAILED, message: `server ${wait.providerId} went into state error while waiting for ${wait.label}` };
    }
    if (server.state === 'stopped') {
      return { state: 'failed', code: ErrorCodes.PROVIDER_ACTION_FAILED, message: `server ${wait.providerId} is stopped instead of starting (while waiting for ${wait.label})` };
    }
  }
  const check = judgeWait(wait, server ? toProviderServer(server, null) : null, undefined, { ipRequired: hasDetails });
  if (check.state !== 'waiting' || !server) return check;
  const progress = server.progress !== undefined ? ` (${server.progress}% built)` : '';
  return { state: 'waiting', status: `${server.state}${progress}` };
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

