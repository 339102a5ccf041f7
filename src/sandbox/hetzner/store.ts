/**
 * In-memory Hetzner Cloud project: servers, their action objects, and the state machine of
 * PROVIDERS.md §5.3. No HTTP here; the router renders what this returns.
 *
 * Nothing runs on a timer. Accepting an action moves its server into the transitional
 * status at once (`stopping`, `starting`, `migrating`, `deleting`) and records when the
 * action finishes; `settle()` (called at the start of every request) applies every action
 * whose finish time has passed on the injected clock, in finish order. So the state a
 * client sees is always the state at `clock.now()`, and a manual clock makes every
 * transition deterministic. While any action of a server is unfinished the server is
 * `locked` and further actions are refused with `locked`.
 *
 * `snapshot()` and `restore()` carry the whole project across a sandbox restart; the
 * format lives in snapshot.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { type ServerActionEffect, applyServerActionEffect } from './action-effects.js';
import {
  type HetznerImage,
  type HetznerLocation,
  type HetznerServerType,
  findServerType,
  isOfferedIn,
} from './catalogue.js';
import { checkName, parseCreateServerRequest } from './create-request.js';
import {
  HetznerApiError,
  invalidInput,
  invalidServerType,
  locked,
  notFound,
  resourceLimitExceeded,
  serverNotStopped,
  uniquenessError,
} from './errors.js';
import { type LabelSelector, type Labels, parseLabels } from './labels.js';
import {
  type HetznerStoreSnapshot,
  actionSnapshot,
  readHetznerStoreSnapshot,
  serverSnapshot,
} from './snapshot.js';

export interface HetznerBehaviour {
  /** How long `create_server` runs (the server is `initializing`). */
  initializeDelayMs: number;
  /** How long `start_server` runs, after create or on poweron (the server is `starting`). */
  startDelayMs: number;
  /** How long stop, shutdown, reboot, reset and change_type run. */
  actionDelayMs: number;
  /** How long a deleted server stays `deleting` before it is gone (404). */
  deleteDelayMs: number;
  /** The next N creates end with `create_server` (and `start_server`) in `error`; the server is left off. */
  failNextCreates: number;
  /** The next N power or change_type actions end in `error`; the server returns to its status before. */
  failNextActions: number;
  /** Project server limit; creates beyond it are refused with `resource_limit_exceeded`. */
  serverLimit: number;
}

export const HETZNER_SERVER_STATUSES = [
  'initializing',
  'starting',
  'running',
  'stopping',
  'off',
  'deleting',
  'migrating',
  'rebuilding',
  'unknown',
] as const;

export type HetznerServerStatus = (typeof HETZNER_SERVER_STATUSES)[number];
export type ActionOutcome = 'success' | 'error';

export interface PublicAddress {
  /** The primary IP's own id. */
  id: number;
  /** An IPv4 address, or for IPv6 the server's /64 network. */
  ip: string;
}

export interface ServerAddresses {
  ipv4: PublicAddress | null;
  ipv6: PublicAddress | null;
}

export interface HetznerServerRecord {
  id: number;
  name: string;
  status: HetznerServerStatus;
  serverType: HetznerServerType;
  /** GB; grows only with a change_type that upgrades the disk. */
  primaryDiskGb: number;
  image: HetznerImage;
  location: HetznerLocation;
  labels: Labels;
  createdAt: number;
  addresses: ServerAddresses;
}

export interface ActionError {
  code: string;
  message: string;
}

export interface HetznerActionRecord {
  id: number;
  command: string;
  serverId: number;
  startedAt: number;
  /** When the work begins; later than `startedAt` for an action queued behind another. */
  runsFrom: number;
  completesAt: number;
  outcome: ActionOutcome;
  /** The error shown when `outcome` is `error`. */
  error: ActionError | null;
  /** Whether `settle()` has already processed this action. */
  settled: boolean;
  /** What the action does to its server if it succeeds. */
  effect: ServerActionEffect | null;
  /** The status the server returns to if the action fails. */
  revertTo: HetznerServerStatus | null;
}

export interface ServerFilter {
  name?: string;
  selector?: LabelSelector;
  statuses?: readonly HetznerServerStatus[];
}

export interface CreatedServer {
  server: HetznerServerRecord;
  action: HetznerActionRecord;
  nextActions: HetznerActionRecord[];
  rootPassword: string | null;
}

export interface ConsoleCredentials {
  wssUrl: string;
  password: string;
}

export const SERVER_ACTION_NAMES = [
  'poweron',
  'poweroff',
  'shutdown',
  'reboot',
  'reset',
  'change_type',
  'request_console',
] as const;
export type ServerActionName = (typeof SERVER_ACTION_NAMES)[number];

const ACTION_FAILED: ActionError = { code: 'action_failed', message: 'Action failed' };

/** Distinct id ranges make a server id passed where an action id belongs fail loudly. */
const FIRST_SERVER_ID = 50_000_001;
const FIRST_ACTION_ID = 900_000_001;
const FIRST_IP_ID = 70_000_001;

export class HetznerStore {
  private readonly servers = new Map<number, HetznerServerRecord>();
  private readonly actions = new Map<number, HetznerActionRecord>();
  /** Kept apart so settling costs the number of running actions, not the whole history. */
  private readonly unsettled = new Set<HetznerActionRecord>();
  /** Counters survive `reset()` so ids stay monotonic for the life of the sandbox. */
  private nextServerId = FIRST_SERVER_ID;
  private nextActionId = FIRST_ACTION_ID;
  private nextIpId = FIRST_IP_ID;
  private addressCounter = 0;
  /** Bumped by every change a snapshot would hold, so a saver can tell whether to write. */
  private changes = 0;

  constructor(
    private readonly clock: Clock,
    readonly behaviour: HetznerBehaviour,
  ) {}

  reset(): void {
    this.servers.clear();
    this.actions.clear();
    this.unsettled.clear();
    this.behaviour.failNextCreates = 0;
    this.behaviour.failNextActions = 0;
    this.changes++;
  }

  /**
   * Increases whenever servers, actions or counters change. Settling does not count: an
   * unsettled action whose time has passed settles the same way after a restore.
   */
  revision(): number {
    return this.changes;
  }

  snapshot(): HetznerStoreSnapshot {
    const byId = (a: { id: number }, b: { id: number }): number => a.id - b.id;
    return {
      nextServerId: this.nextServerId,
      nextActionId: this.nextActionId,
      nextIpId: this.nextIpId,
      addressCounter: this.addressCounter,
      servers: [...this.servers.values()].sort(byId).map(serverSnapshot),
      actions: [...this.actions.values()].sort(byId).map(actionSnapshot),
    };
  }

  /**
   * Replaces every server and action with those in `data`. The data is checked in full
   * before anything is replaced, so a bad snapshot throws and leaves the store as it was.
   */
  restore(data: unknown, path: string): void {
    const state = readHetznerStoreSnapshot(data, path);
    this.servers.clear();
    this.actions.clear();
    this.unsettled.clear();
    for (const server of state.servers) this.servers.set(server.id, server);
    for (const action of state.actions) {
      this.actions.set(action.id, action);
      if (!action.settled) this.unsettled.add(action);
    }
    // Never move a counter backwards: ids handed out before an in-process restore stay unique.
    this.nextServerId = Math.max(this.nextServerId, state.nextServerId);
    this.nextActionId = Math.max(this.nextActionId, state.nextActionId);
    this.nextIpId = Math.max(this.nextIpId, state.nextIpId);
    this.addressCounter = Math.max(this.addressCounter, state.addressCounter);
    this.changes++;
  }

  /** Applies every action that has finished by now, earliest finish first. */
  settle(): void {
    const now = this.clock.now();
    const due = [...this.unsettled]
      .filter((a) => a.completesAt <= now)
      .sort((a, b) => a.completesAt - b.completesAt || a.id - b.id);
    for (const action of due) this.finish(action);
  }

  // ---- servers --------------------------------------------------------------------------

  listServers(filter: ServerFilter): HetznerServerRecord[] {
    return [...this.servers.values()]
      .filter((s) => filter.name === undefined || s.name === filter.name)
      .filter((s) => filter.statuses === undefined || filter.statuses.length === 0 || filter.statuses.includes(s.status))
      .filter((s) => filter.selector === undefined || filter.selector(s.labels))
      .sort((a, b) => a.id - b.id);
  }

  getServer(id: number): HetznerServerRecord {
    const server = this.servers.get(id);
    if (server === undefined) throw notFound(`server with ID '${id}'`);
    return server;
  }

  createServer(body: unknown): CreatedServer {
    const request = parseCreateServerRequest(body);
    this.checkNameIsFree(request.name);
    if (this.servers.size >= this.behaviour.serverLimit) {
      throw resourceLimitExceeded(`server limit of ${this.behaviour.serverLimit} exceeded for this project`);
    }
    const now = this.clock.now();
    const server: HetznerServerRecord = {
      id: this.nextServerId++,
      name: request.name,
      status: 'initializing',
      serverType: request.serverType,
      primaryDiskGb: request.serverType.disk,
      image: request.image,
      location: request.location,
      labels: request.labels,
      createdAt: now,
      addresses: this.allocateAddresses(request.ipv4, request.ipv6),
    };
    this.servers.set(server.id, server);

    // One failure budget covers the whole create: a failed create_server fails the start too.
    const outcome = this.consumeFailure('failNextCreates');
    const createAction = this.recordAction(server, 'create_server', {
      runsFrom: now,
      durationMs: this.behaviour.initializeDelayMs,
      outcome,
      effect: { kind: 'set_status', status: request.startAfterCreate ? 'starting' : 'off' },
      revertTo: 'off',
    });
    const nextActions: HetznerActionRecord[] = [];
    if (request.startAfterCreate) {
      nextActions.push(
        this.recordAction(server, 'start_server', {
          runsFrom: createAction.completesAt,
          durationMs: this.behaviour.startDelayMs,
          outcome,
          effect: { kind: 'set_status', status: 'running' },
          revertTo: 'off',
        }),
      );
    }
    this.settle();
    return {
      server,
      action: createAction,
      nextActions,
      rootPassword: request.generateRootPassword ? randomSecret(20) : null,
    };
  }

  /** `PUT /servers/{id}`: renames and/or replaces the labels. */
  updateServer(id: number, body: unknown): HetznerServerRecord {
    const server = this.getServer(id);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new HetznerApiError(400, 'json_error', 'request body must be a JSON object');
    }
    const raw = body as Record<string, unknown>;
    let name: string | undefined;
    if (raw.name !== undefined) {
      name = checkName(raw.name, (field, message) => {
        throw invalidInput([{ name: field, messages: [message] }]);
      });
      if (name !== undefined && name !== server.name) this.checkNameIsFree(name);
    }
    const labels = raw.labels === undefined ? undefined : parseLabels(raw.labels);
    if (name !== undefined) server.name = name;
    if (labels !== undefined) server.labels = labels;
    this.changes++;
    return server;
  }

  /**
   * Deleting is accepted whatever the server is doing: actions still running on it end in
   * `error`, and it stays `deleting` until `delete_server` finishes. A second delete while
   * that runs is refused with `locked`, like any other concurrent action.
   */
  deleteServer(id: number): HetznerActionRecord {
    const server = this.getServer(id);
    if (server.status === 'deleting') throw locked();
    const now = this.clock.now();
    for (const action of this.pendingActionsOf(server.id)) {
      action.outcome = 'error';
      action.error = { code: 'action_failed', message: 'the server was deleted' };
      action.completesAt = Math.max(action.startedAt, now);
      action.revertTo = null;
      this.finish(action);
    }
    server.status = 'deleting';
    const action = this.recordAction(server, 'delete_server', {
      runsFrom: now,
      durationMs: this.behaviour.deleteDelayMs,
      outcome: 'success',
      effect: { kind: 'remove' },
      revertTo: null,
    });
    this.settle();
    return action;
  }

  // ---- actions --------------------------------------------------------------------------

  /** `POST /servers/{id}/actions/{name}`; `console` is set for request_console. */
  startAction(
    serverId: number,
    name: string,
    body: unknown,
  ): { action: HetznerActionRecord; console?: ConsoleCredentials } {
    const server = this.getServer(serverId);
    if (!(SERVER_ACTION_NAMES as readonly string[]).includes(name)) throw notFound('action');
    if (this.isLocked(server)) throw locked();
    const actionName = name as ServerActionName;
    const running = server.status === 'running';

    switch (actionName) {
      case 'poweron':
        if (running) return { action: this.instantAction(server, 'start_server') };
        return { action: this.transition(server, 'start_server', 'starting', 'running', this.behaviour.startDelayMs) };
      case 'poweroff':
        if (!running) return { action: this.instantAction(server, 'stop_server') };
        return { action: this.transition(server, 'stop_server', 'stopping', 'off', this.behaviour.actionDelayMs) };
      case 'shutdown':
        if (!running) return { action: this.instantAction(server, 'shutdown_server') };
        return { action: this.transition(server, 'shutdown_server', 'stopping', 'off', this.behaviour.actionDelayMs) };
      case 'reboot':
        // An ACPI reboot request to a powered-off server reaches no operating system.
        if (!running) return { action: this.instantAction(server, 'reboot_server') };
        return { action: this.transition(server, 'reboot_server', 'running', 'running', this.behaviour.actionDelayMs) };
      case 'reset':
        // A hard reset cuts power and starts the server again, whatever its state.
        if (running) return { action: this.transition(server, 'reset_server', 'running', 'running', this.behaviour.actionDelayMs) };
        return { action: this.transition(server, 'reset_server', 'starting', 'running', this.behaviour.startDelayMs) };
      case 'change_type':
        return { action: this.changeType(server, body) };
      case 'request_console':
        return {
          action: this.instantAction(server, 'request_console'),
          console: {
            wssUrl: `wss://console.sandbox.invalid/?server_id=${server.id}&token=${randomUUID()}`,
            password: randomSecret(32),
          },
        };
    }
  }

  getAction(id: number): HetznerActionRecord {
    const action = this.actions.get(id);
    if (action === undefined) throw notFound(`action with ID '${id}'`);
    return action;
  }

  /** Known actions among `ids`, in id order; unknown ids are left out, as Hetzner does. */
  actionsByIds(ids: readonly number[]): HetznerActionRecord[] {
    const wanted = new Set(ids);
    return [...wanted]
      .map((id) => this.actions.get(id))
      .filter((a): a is HetznerActionRecord => a !== undefined)
      .sort((a, b) => a.id - b.id);
  }

  listActions(serverId: number): HetznerActionRecord[] {
    return [...this.actions.values()].filter((a) => a.serverId === serverId).sort((a, b) => a.id - b.id);
  }

  isLocked(server: HetznerServerRecord): boolean {
    for (const action of this.unsettled) if (action.serverId === server.id) return true;
    return false;
  }

  // ---- internals ------------------------------------------------------------------------

  private checkNameIsFree(name: string): void {
    for (const other of this.servers.values()) {
      if (other.name === name) throw uniquenessError('name', 'server name is already used');
    }
  }

  private changeType(server: HetznerServerRecord, body: unknown): HetznerActionRecord {
    const raw = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
    const problems: Array<{ name: string; messages: string[] }> = [];
    const ref = raw.server_type;
    if (ref === undefined || ref === null || ref === '') problems.push({ name: 'server_type', messages: ['is required'] });
    else if (typeof ref !== 'string' && !Number.isInteger(ref)) problems.push({ name: 'server_type', messages: ['must be a name or an id'] });
    if (raw.upgrade_disk === undefined || raw.upgrade_disk === null) problems.push({ name: 'upgrade_disk', messages: ['is required'] });
    else if (typeof raw.upgrade_disk !== 'boolean') problems.push({ name: 'upgrade_disk', messages: ['must be a boolean'] });
    if (problems.length > 0) throw invalidInput(problems);
    const target = findServerType(ref as string | number);
    if (target === undefined) throw invalidInput([{ name: 'server_type', messages: [`server type ${JSON.stringify(ref)} not found`] }]);

    if (server.status !== 'off') throw serverNotStopped();
    if (!isOfferedIn(target, server.location.name)) {
      throw invalidServerType(`server type ${target.name} is not available in location ${server.location.name}`);
    }
    if (target.architecture !== server.serverType.architecture) {
      throw invalidServerType(`server type ${target.name} is ${target.architecture}, the server is ${server.serverType.architecture}`);
    }
    if (target.storage_type !== server.serverType.storage_type) {
      throw invalidServerType(`server type ${target.name} uses ${target.storage_type} storage, the server ${server.serverType.storage_type}`);
    }
    if (target.disk < server.primaryDiskGb) {
      throw invalidServerType(
        `server type ${target.name} has a ${target.disk} GB disk, smaller than the server's ${server.primaryDiskGb} GB disk`,
      );
    }
    server.status = 'migrating';
    const action = this.recordAction(server, 'change_server_type', {
      runsFrom: this.clock.now(),
      durationMs: this.behaviour.actionDelayMs,
      outcome: this.consumeFailure('failNextActions'),
      effect: { kind: 'change_type', serverType: target.name, upgradeDisk: raw.upgrade_disk === true },
      revertTo: 'off',
    });
    this.settle();
    return action;
  }

  /** A power action that moves the server to `during` now and to `after` when it succeeds. */
  private transition(
    server: HetznerServerRecord,
    command: string,
    during: HetznerServerStatus,
    after: HetznerServerStatus,
    durationMs: number,
  ): HetznerActionRecord {
    const before = server.status;
    server.status = during;
    const action = this.recordAction(server, command, {
      runsFrom: this.clock.now(),
      durationMs,
      outcome: this.consumeFailure('failNextActions'),
      effect: { kind: 'set_status', status: after },
      revertTo: before,
    });
    this.settle();
    return action;
  }

  /** An action with nothing to do (power on a running server, …): it succeeds at once. */
  private instantAction(server: HetznerServerRecord, command: string): HetznerActionRecord {
    const action = this.recordAction(server, command, {
      runsFrom: this.clock.now(),
      durationMs: 0,
      outcome: 'success',
      effect: null,
      revertTo: null,
    });
    this.settle();
    return action;
  }

  private recordAction(
    server: HetznerServerRecord,
    command: string,
    plan: {
      runsFrom: number;
      durationMs: number;
      outcome: ActionOutcome;
      effect: ServerActionEffect | null;
      revertTo: HetznerServerStatus | null;
    },
  ): HetznerActionRecord {
    const action: HetznerActionRecord = {
      id: this.nextActionId++,
      command,
      serverId: server.id,
      startedAt: this.clock.now(),
      runsFrom: plan.runsFrom,
      completesAt: plan.runsFrom + Math.max(0, plan.durationMs),
      outcome: plan.outcome,
      error: plan.outcome === 'error' ? { ...ACTION_FAILED } : null,
      settled: false,
      effect: plan.effect,
      revertTo: plan.revertTo,
    };
    this.actions.set(action.id, action);
    this.unsettled.add(action);
    this.changes++;
    // Callers settle once they have recorded everything: a zero-length action is already
    // over and is applied before anyone can observe the gap.
    return action;
  }

  private finish(action: HetznerActionRecord): void {
    action.settled = true;
    this.unsettled.delete(action);
    const server = this.servers.get(action.serverId);
    if (server === undefined) return;
    if (action.outcome === 'error') {
      if (action.revertTo !== null) server.status = action.revertTo;
      return;
    }
    if (action.effect?.kind === 'remove') {
      this.servers.delete(server.id);
      return;
    }
    if (action.effect !== null) applyServerActionEffect(action.effect, server);
  }

  private pendingActionsOf(serverId: number): HetznerActionRecord[] {
    return [...this.unsettled].filter((a) => a.serverId === serverId);
  }

  private consumeFailure(key: 'failNextCreates' | 'failNextActions'): ActionOutcome {
    if (this.behaviour[key] > 0) {
      this.behaviour[key] -= 1;
      return 'error';
    }
    return 'success';
  }

  /**
   * Public IPv4 addresses come from the upper half of 198.19.0.0/16 (reserved for network
   * testing, so never a real host, and apart from the DigitalOcean simulator's addresses);
   * each server's IPv6 /64 comes from the documentation prefix 2001:db8::/32.
   */
  private allocateAddresses(ipv4: boolean, ipv6: boolean): ServerAddresses {
    const n = this.addressCounter++;
    const hostsPerSubnet = 254;
    const subnet = 128 + (Math.floor(n / hostsPerSubnet) % 128);
    const host = (n % hostsPerSubnet) + 1;
    return {
      ipv4: ipv4 ? { id: this.nextIpId++, ip: `198.19.${subnet}.${host}` } : null,
      ipv6: ipv6 ? { id: this.nextIpId++, ip: `2001:db8:4${(n >> 16).toString(16).padStart(3, '0')}:${(n & 0xffff).toString(16)}::/64` } : null,
    };
  }
}

/** Random letters and digits, like Hetzner's generated root and VNC passwords. */
function randomSecret(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}
