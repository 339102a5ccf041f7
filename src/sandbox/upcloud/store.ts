/**
 * In-memory UpCloud account: servers, their storages, and the server state machine of
 * PROVIDERS.md §4.4 / §5.3. No HTTP here; the router renders what this returns.
 *
 *   create  → maintenance → started          (or error → stopped / stuck, when injected)
 *   stop    → (still started) → stopped
 *   start   → started at once (409 unless stopped)
 *   restart → maintenance → started
 *   modify plan/cores/memory → maintenance → stopped (409 unless stopped)
 *   delete  → gone at once (409 unless stopped)
 *
 * There are no action objects. Nothing runs on a timer either: a server keeps a list of
 * pending state changes, each with the clock time it takes effect, and `settle()` (called
 * at the start of every request) applies the ones that are due. A manual clock therefore
 * makes every transition deterministic.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { findPlan } from './catalogue.js';
import {
  type CreateServerRequest,
  type IpFamily,
  type InterfaceType,
  type StorageTier,
  checkPlanName,
  integerField,
  parseCreateServerRequest,
} from './create-request.js';
import { UpCloudApiError, badRequest, serverInvalid, serverNotFound, stateIllegal, storageNotFound } from './errors.js';
import { type LabelFilter, type UpCloudLabel, matchesLabelFilters, parseLabels } from './labels.js';
import { type UpCloudStoreSnapshot, readUpCloudStoreSnapshot, serverSnapshot, storageSnapshot } from './snapshot.js';

export interface UpCloudBehaviour {
  /** Time a new server spends in `maintenance` before it is `started`. */
  createDelayMs: number;
  /** Time from a stop request until the server is `stopped`. */
  stopDelayMs: number;
  /** Time a restarting server spends in `maintenance`. */
  restartDelayMs: number;
  /** Time a server spends in `maintenance` while its plan, cores or memory change. */
  modifyDelayMs: number;
  /** How long an injected `error` state lasts before the server settles as `stopped`. */
  errorDurationMs: number;
  /** The next N creates end in `error` (then `stopped`) instead of `started`. */
  failNextCreates: number;
  /** The next N creates stay in `maintenance` for ever. */
  stuckNextCreates: number;
  /** The next N stop requests are accepted but the server never stops. */
  stuckNextStops: number;
}

export type UpCloudServerState = 'maintenance' | 'started' | 'stopped' | 'error';

export interface ServerTransition {
  state: UpCloudServerState;
  atMs: number;
}

export interface InterfaceRecord {
  index: number;
  type: InterfaceType;
  mac: string;
  network: string;
  addresses: Array<{ address: string; family: IpFamily }>;
}

export interface ServerRecord {
  uuid: string;
  title: string;
  hostname: string;
  zone: string;
  /** A plan name, or `custom`. */
  plan: string;
  coreNumber: number;
  memoryAmount: number;
  labels: UpCloudLabel[];
  createdAtMs: number;
  state: UpCloudServerState;
  /** State changes still to come, earliest first. */
  pending: ServerTransition[];
  /** Set while the server is being built after create; it drives the `progress` field. */
  build: { startedAtMs: number; durationMs: number } | null;
  metadata: boolean;
  interfaces: InterfaceRecord[];
  /** Attached storages in device order; the first is the boot disk. */
  storageUuids: string[];
  remoteAccessPassword: string;
}

export interface StorageRecord {
  uuid: string;
  title: string;
  sizeGb: number;
  tier: StorageTier;
  zone: string;
  /** The template this disk was cloned from, if any. */
  origin: string | null;
  createdAtMs: number;
  /** The server it is attached to; null once detached (its server was deleted without `storages=1`). */
  serverUuid: string | null;
}

export interface CreatedServer {
  server: ServerRecord;
  /** Only in the create response, and only when one was made (PROVIDERS.md §5.2). */
  password: string | null;
  username: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * The longest stop/restart timeout taken. UpCloud accepts at least 900: the official Go
 * client's recorded stops (1.2 in 2020, 1.3 in 2022) ask for "900" and get a 200.
 */
const MAX_STOP_TIMEOUT_SEC = 3600;

export class UpCloudStore {
  private readonly servers = new Map<string, ServerRecord>();
  private readonly storages = new Map<string, StorageRecord>();
  /** Survives `reset()` so addresses stay unique for the life of the sandbox. */
  private addressCounter = 0;
  /** Bumped by every change a snapshot would hold, so a saver can tell whether to write. */
  private changes = 0;

  constructor(
    private readonly clock: Clock,
    readonly behaviour: UpCloudBehaviour,
  ) {}

  reset(): void {
    this.servers.clear();
    this.storages.clear();
    this.behaviour.failNextCreates = 0;
    this.behaviour.stuckNextCreates = 0;
    this.behaviour.stuckNextStops = 0;
    this.changes++;
  }

  /** Settling does not count: a due transition settles the same way after a restore. */
  revision(): number {
    return this.changes;
  }

  snapshot(): UpCloudStoreSnapshot {
    return {
      addressCounter: this.addressCounter,
      servers: [...this.servers.values()].map(serverSnapshot),
      storages: [...this.storages.values()].map(storageSnapshot),
    };
  }

  /** Checks `data` in full before replacing anything, so a bad snapshot leaves the store as it was. */
  restore(data: unknown, path: string): void {
    const state = readUpCloudStoreSnapshot(data, path);
    this.servers.clear();
    this.storages.clear();
    for (const server of state.servers) this.servers.set(server.uuid, server);
    for (const storage of state.storages) this.storages.set(storage.uuid, storage);
    // Never move the counter backwards: addresses handed out before an in-process restore stay unique.
    this.addressCounter = Math.max(this.addressCounter, state.addressCounter);
    this.changes++;
  }

  /** Applies every state change that is due by now. */
  settle(): void {
    const now = this.clock.now();
    for (const server of this.servers.values()) applyDue(server, now);
  }

  // ---- reading --------------------------------------------------------------------------

  listServers(filters: readonly LabelFilter[]): ServerRecord[] {
    return [...this.servers.values()].filter((s) => matchesLabelFilters(s.labels, filters));
  }

  getServer(uuid: string): ServerRecord {
    if (!UUID.test(uuid)) throw serverInvalid();
    const server = this.servers.get(uuid.toLowerCase());
    if (server === undefined) throw serverNotFound(uuid);
    return server;
  }

  /** The server a storage is attached to, looked up by a UUID the store itself recorded. */
  serverOf(storage: StorageRecord): ServerRecord | undefined {
    return storage.serverUuid === null ? undefined : this.servers.get(storage.serverUuid);
  }

  storagesOf(server: ServerRecord): StorageRecord[] {
    return server.storageUuids.map((uuid) => this.storages.get(uuid)).filter((s): s is StorageRecord => s !== undefined);
  }

  listStorages(): StorageRecord[] {
    return [...this.storages.values()];
  }

  /** Undefined for an unknown UUID; a malformed one is a 400 as on the real API. */
  findStorage(uuid: string): StorageRecord | undefined {
    if (!UUID.test(uuid)) throw new UpCloudApiError(400, 'STORAGE_INVALID', 'The storage UUID is invalid.');
    return this.storages.get(uuid.toLowerCase());
  }

  /** Where the create's `progress` stands, 0-99, while the server is being built. */
  buildProgress(server: ServerRecord): number | null {
    if (server.build === null) return null;
    const elapsed = this.clock.now() - server.build.startedAtMs;
    const fraction = server.build.durationMs <= 0 ? 1 : elapsed / server.build.durationMs;
    return Math.max(0, Math.min(99, Math.floor(fraction * 100)));
  }

  // ---- changes --------------------------------------------------------------------------

  createServer(body: unknown): CreatedServer {
    const request = parseCreateServerRequest(body);
    const attached = this.checkAttachable(request);
    const now = this.clock.now();
    const uuid = `00${randomUUID().slice(2)}`;

    const storageUuids: string[] = [];
    for (const [i, device] of request.storageDevices.entries()) {
      if (device.action === 'attach') {
        const storage = attached.get(device.storageUuid) as StorageRecord;
        storage.serverUuid = uuid;
        storageUuids.push(storage.uuid);
        continue;
      }
      const storage: StorageRecord = {
        uuid: `01${randomUUID().slice(2)}`,
        title: device.title ?? `${request.hostname}-disk${i + 1}`.slice(0, 64),
        sizeGb: device.size ?? (device.action === 'clone' ? (request.plan?.storageSize ?? device.template.size) : 0),
        tier: device.tier,
        zone: request.zone.id,
        origin: device.action === 'clone' ? device.template.uuid : null,
        createdAtMs: now,
        serverUuid: uuid,
      };
      this.storages.set(storage.uuid, storage);
      storageUuids.push(storage.uuid);
    }

    const server: ServerRecord = {
      uuid,
      title: request.title,
      hostname: request.hostname,
      zone: request.zone.id,
      plan: request.plan?.name ?? 'custom',
      coreNumber: request.coreNumber,
      memoryAmount: request.memoryAmount,
      labels: request.labels,
      createdAtMs: now,
      state: 'maintenance',
      pending: [],
      build: { startedAtMs: now, durationMs: this.behaviour.createDelayMs },
      metadata: request.metadata,
      interfaces: this.allocateInterfaces(request),
      storageUuids,
      remoteAccessPassword: request.remoteAccessPassword ?? randomSecret(8),
    };
    this.servers.set(uuid, server);

    if (this.consume('stuckNextCreates')) {
      // Left in maintenance with no transition: a server that never finishes building.
    } else if (this.consume('failNextCreates')) {
      this.schedule(server, [
        ['error', this.behaviour.createDelayMs],
        ['stopped', this.behaviour.errorDurationMs],
      ]);
    } else {
      this.schedule(server, [['started', this.behaviour.createDelayMs]]);
    }
    this.changes++;
    return { server, password: request.createPassword ? randomSecret(16) : null, username: request.username };
  }

  startServer(uuid: string): ServerRecord {
    const server = this.getServer(uuid);
    if (server.state !== 'stopped') throw stateIllegal(`The server ${server.uuid} is ${server.state}; only a stopped server can be started.`);
    server.state = 'started';
    server.pending = [];
    this.changes++;
    return server;
  }

  /** Answers with the server as it is now (still `started`); it reads `stopped` once the stop completes. */
  stopServer(uuid: string, body: unknown): ServerRecord {
    const server = this.getServer(uuid);
    checkStopRequest(body, 'stop_server', false);
    if (server.state !== 'started') throw stateIllegal(`The server ${server.uuid} is ${server.state}; only a started server can be stopped.`);
    // A second stop while one is under way changes nothing.
    if (server.pending.length > 0) return server;
    if (!this.consume('stuckNextStops')) this.schedule(server, [['stopped', this.behaviour.stopDelayMs]]);
    this.changes++;
    return server;
  }

  restartServer(uuid: string, body: unknown): ServerRecord {
    const server = this.getServer(uuid);
    checkStopRequest(body, 'restart_server', true);
    if (server.state !== 'started') throw stateIllegal(`The server ${server.uuid} is ${server.state}; only a started server can be restarted.`);
    server.state = 'maintenance';
    server.pending = [];
    this.schedule(server, [['started', this.behaviour.restartDelayMs]]);
    this.changes++;
    return server;
  }

  /** `PUT /server/{uuid}`: title, hostname and labels any time; plan, cores and memory only when stopped. */
  modifyServer(uuid: string, body: unknown): ServerRecord {
    const server = this.getServer(uuid);
    const patch = (typeof body === 'object' && body !== null ? (body as { server?: unknown }).server : undefined) as
      | Record<string, unknown>
      | undefined;
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw badRequest('REQUEST_INVALID', 'The request body must be a JSON object with a "server" object.');
    }
    if (server.state === 'maintenance') throw stateIllegal(`The server ${server.uuid} is in maintenance; try again when it has settled.`);

    const sizing = checkResize(server, patch);
    const sizeChanges =
      sizing.plan !== server.plan || sizing.coreNumber !== server.coreNumber || sizing.memoryAmount !== server.memoryAmount;
    if (sizeChanges && server.state !== 'stopped') {
      throw stateIllegal(`The server ${server.uuid} is ${server.state}; stop it before changing its plan, cores or memory.`);
    }
    const title = optionalText(patch.title, 'SERVER_TITLE_INVALID', 'title', 255);
    const hostname = optionalText(patch.hostname, 'HOSTNAME_INVALID', 'hostname', 128);
    const labels = patch.labels === undefined ? undefined : parseLabels(patch.labels);

    if (title !== undefined) server.title = title;
    if (hostname !== undefined) server.hostname = hostname;
    if (labels !== undefined) server.labels = labels;
    if (sizeChanges) {
      Object.assign(server, sizing);
      server.state = 'maintenance';
      this.schedule(server, [['stopped', this.behaviour.modifyDelayMs]]);
    }
    this.changes++;
    return server;
  }

  deleteServer(uuid: string, options: { storages: unknown; backups: unknown }): void {
    const server = this.getServer(uuid);
    const deleteStorages = checkDeletionFlag(options.storages);
    checkBackupPolicy(options.backups);
    if (server.state !== 'stopped') throw stateIllegal(`The server ${server.uuid} is ${server.state}; stop it before deleting it.`);
    for (const storageUuid of server.storageUuids) {
      const storage = this.storages.get(storageUuid);
      if (storage === undefined) continue;
      // Without storages=1 the disks outlive the server (and keep billing), as on UpCloud.
      if (deleteStorages) this.storages.delete(storageUuid);
      else storage.serverUuid = null;
    }
    this.servers.delete(server.uuid);
    this.changes++;
  }

  // ---- helpers --------------------------------------------------------------------------

  /** Transitions follow one another: each delay counts from the previous one. */
  private schedule(server: ServerRecord, steps: Array<[UpCloudServerState, number]>): void {
    let at = this.clock.now();
    server.pending = steps.map(([state, delayMs]) => {
      at += Math.max(0, delayMs);
      return { state, atMs: at };
    });
    // A zero delay is already over; apply it before anyone can observe the gap.
    applyDue(server, this.clock.now());
  }

  private consume(key: 'failNextCreates' | 'stuckNextCreates' | 'stuckNextStops'): boolean {
    if (this.behaviour[key] <= 0) return false;
    this.behaviour[key] -= 1;
    return true;
  }

  private checkAttachable(request: CreateServerRequest): Map<string, StorageRecord> {
    const found = new Map<string, StorageRecord>();
    for (const device of request.storageDevices) {
      if (device.action !== 'attach') continue;
      const storage = this.findStorage(device.storageUuid);
      if (storage === undefined) throw storageNotFound(device.storageUuid);
      if (storage.serverUuid !== null || found.has(storage.uuid)) {
        throw new UpCloudApiError(409, 'STORAGE_ATTACHED', `The storage ${storage.uuid} is already attached to a server.`);
      }
      if (storage.zone !== request.zone.id) {
        throw new UpCloudApiError(409, 'ZONE_MISMATCH', `The storage ${storage.uuid} is in ${storage.zone}, not ${request.zone.id}.`);
      }
      found.set(storage.uuid, storage);
    }
    return found;
  }

  /**
   * Public IPv4 comes from 198.19.128.0/17 (reserved for network testing and apart from the
   * simulated DigitalOcean's range), utility IPv4 from 10.6.0.0/16 as on UpCloud, and IPv6
   * from the documentation prefix 2001:db8::/32. IPs exist from the create response on.
   */
  private allocateInterfaces(request: CreateServerRequest): InterfaceRecord[] {
    return request.interfaces.map((iface, i) => {
      // Every interface takes at least one address, so its first address number is unique to it.
      const mac = macFor(this.addressCounter);
      return {
        index: i + 1,
        type: iface.type,
        mac,
        network: networkUuid(request.zone.id, iface.type),
        addresses: iface.families.map((family) => ({ family, address: this.nextAddress(iface.type, family) })),
      };
    });
  }

  private nextAddress(type: InterfaceType, family: IpFamily): string {
    const n = this.addressCounter++;
    const host = (n % 254) + 1;
    const subnet = Math.floor(n / 254);
    if (family === 'IPv6') return `2001:db8:1000:${(subnet & 0xffff).toString(16)}::${host.toString(16)}`;
    if (type === 'utility') return `10.6.${subnet & 255}.${host}`;
    return `198.19.${128 + (subnet & 127)}.${host}`;
  }
}

/** The `host` UpCloud reports for a started server: stable per server here. */
export function hostOf(server: ServerRecord): number {
  return 1_000_000_000 + (parseInt(createHash('sha1').update(server.uuid).digest('hex').slice(0, 8), 16) % 8_999_999_999);
}

function applyDue(server: ServerRecord, now: number): void {
  while (server.pending.length > 0 && (server.pending[0] as ServerTransition).atMs <= now) {
    server.state = (server.pending.shift() as ServerTransition).state;
    if (server.state !== 'maintenance') server.build = null;
  }
}

/** Plan, cores and memory after a PUT: a plan name sets all three; cores/memory alone make it custom. */
function checkResize(server: ServerRecord, patch: Record<string, unknown>): { plan: string; coreNumber: number; memoryAmount: number } {
  if (patch.plan !== undefined && patch.plan !== 'custom') {
    const plan = checkPlanName(patch.plan);
    return { plan: plan.name, coreNumber: plan.coreNumber, memoryAmount: plan.memoryAmount };
  }
  const cores = patch.core_number === undefined ? server.coreNumber : integerField(patch.core_number);
  const memory = patch.memory_amount === undefined ? server.memoryAmount : integerField(patch.memory_amount);
  if (cores === undefined || cores < 1 || cores > 20) throw badRequest('CORE_NUMBER_INVALID', 'core_number must be between 1 and 20.', 'core_number');
  if (memory === undefined || memory < 512 || memory % 256 !== 0) {
    throw badRequest('MEMORY_AMOUNT_INVALID', 'memory_amount must be a multiple of 256 of at least 512 (MiB).', 'memory_amount');
  }
  const unchanged = patch.plan === undefined && patch.core_number === undefined && patch.memory_amount === undefined;
  if (unchanged) return { plan: server.plan, coreNumber: server.coreNumber, memoryAmount: server.memoryAmount };
  const matching = findPlan(server.plan);
  const samePlan = matching !== undefined && matching.coreNumber === cores && matching.memoryAmount === memory;
  return { plan: samePlan ? server.plan : 'custom', coreNumber: cores, memoryAmount: memory };
}

/** `{"stop_server":{"stop_type":"soft"|"hard","timeout":"60"}}`, or `restart_server` with `timeout_action`; the body is optional. */
function checkStopRequest(body: unknown, wrapper: 'stop_server' | 'restart_server', withTimeoutAction: boolean): void {
  if (body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0)) return;
  const inner = typeof body === 'object' ? (body as Record<string, unknown>)[wrapper] : undefined;
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) {
    throw badRequest('REQUEST_INVALID', `The request body must hold a "${wrapper}" object.`);
  }
  const fields = inner as Record<string, unknown>;
  if (fields.stop_type !== undefined && fields.stop_type !== 'soft' && fields.stop_type !== 'hard') {
    throw badRequest('STOP_TYPE_INVALID', 'stop_type must be soft or hard.', 'stop_type');
  }
  if (fields.timeout !== undefined) {
    const timeout = integerField(fields.timeout);
    if (timeout === undefined || timeout < 1 || timeout > MAX_STOP_TIMEOUT_SEC) {
      throw badRequest('TIMEOUT_INVALID', `timeout must be 1-${MAX_STOP_TIMEOUT_SEC} seconds.`, 'timeout');
    }
  }
  if (withTimeoutAction && fields.timeout_action !== undefined && fields.timeout_action !== 'destroy' && fields.timeout_action !== 'ignore') {
    throw badRequest('TIMEOUT_ACTION_INVALID', 'timeout_action must be destroy or ignore.', 'timeout_action');
  }
}

function checkDeletionFlag(value: unknown): boolean {
  if (value === undefined) return false;
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw badRequest('STORAGE_DELETION_POLICY_INVALID', 'storages must be 1 or 0.', 'storages');
}

function checkBackupPolicy(value: unknown): void {
  if (value === undefined || value === 'keep' || value === 'keep_latest' || value === 'delete') return;
  throw badRequest('BACKUP_DELETION_POLICY_INVALID', 'backups must be keep, keep_latest or delete.', 'backups');
}

function optionalText(value: unknown, code: string, field: string, maxLength: number): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > maxLength) {
    throw badRequest(code, `${field} must be 1-${maxLength} characters.`, field);
  }
  return value;
}

function randomSecret(length: number): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  const bytes = randomBytes(length);
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Locally administered MACs, unique per address counter. */
function macFor(n: number): string {
  const bytes = [0xee, 0x1b, 0xdb, (n >> 16) & 255, (n >> 8) & 255, n & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A stable network UUID per zone and interface type, starting `03` like UpCloud's. */
function networkUuid(zone: string, type: InterfaceType): string {
  const hex = createHash('sha1').update(`${zone}:${type}`).digest('hex');
  return `03${hex.slice(2, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
