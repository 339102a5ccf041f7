/**
 * In-memory Vultr account: instances and the state machine of PROVIDERS.md §3.4/§5.3.
 * No HTTP here; the router renders what this returns.
 *
 * Vultr has no action objects, so there is nothing to poll but the instance itself.
 * Provisioning is a pair of timestamps (when the instance leaves `pending`, when its guest
 * reports `ok`) and the status triple is derived from them on every read. A power or plan
 * change is a task with a completion time; `settle()` (run before every request) applies
 * each task whose time has passed on the injected clock. Nothing runs on a timer, so a
 * manual clock makes every transition deterministic.
 *
 * `snapshot()` and `restore()` carry the account across a sandbox restart; the format
 * lives in snapshot.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { type VultrOs, type VultrPlan, type VultrRegion, findPlan, upgradesOf } from './catalogue.js';
import { badRequest, instanceNotFound, locked } from './errors.js';
import type { CreateInstanceRequest, UpdateInstanceRequest } from './requests.js';
import { type VultrStoreSnapshot, instanceSnapshot, readVultrStoreSnapshot } from './snapshot.js';

export interface VultrBehaviour {
  /** Time from create until the instance leaves `pending` (and gets its main_ip). */
  activeDelayMs: number;
  /** Time from leaving `pending` until the guest reports `server_status: ok`. */
  bootDelayMs: number;
  /** Time a halt, start or reboot keeps the instance locked. */
  actionDelayMs: number;
  /** Time a plan change keeps the instance `resizing`. */
  resizeDelayMs: number;
  /** The next N creates never leave `pending` (a stuck provisioning). */
  stallNextCreates: number;
  /** The next N creates end `suspended` instead of `active`. */
  suspendNextCreates: number;
  /** The next N halts, starts, reboots or plan changes never finish: the instance stays locked. */
  stallNextActions: number;
}

export type PowerStatus = 'running' | 'stopped';
export type InstanceStatus = 'pending' | 'active' | 'suspended' | 'resizing';
export type ServerStatus = 'none' | 'locked' | 'installingbooting' | 'ok';
export type PowerTaskKind = 'halt' | 'start' | 'reboot';

/** A change in progress. `completesAt` null means it never finishes (an injected stall). */
export type InstanceTask =
  | { kind: PowerTaskKind; completesAt: number | null }
  | { kind: 'resize'; plan: string; completesAt: number | null };

export interface InstanceAddresses {
  mainIp: string;
  netmaskV4: string;
  gatewayV4: string;
  v6Network: string;
  v6MainIp: string;
}

export interface InstanceRecord {
  id: string;
  label: string;
  hostname: string;
  region: VultrRegion;
  plan: VultrPlan;
  os: VultrOs;
  tags: string[];
  sshKeyIds: string[];
  /** Base64 exactly as the client sent it; '' when none. */
  userData: string;
  enableIpv6: boolean;
  backups: 'enabled' | 'disabled';
  ddosProtection: boolean;
  firewallGroupId: string;
  createdAt: number;
  /** When the instance leaves `pending`; null when it never will (injected stall). */
  activeAt: number | null;
  /** When the guest reports `ok`. */
  readyAt: number;
  /** What leaving `pending` leads to; `suspended` is an injected failure. */
  provisionOutcome: 'active' | 'suspended';
  powerStatus: PowerStatus;
  task: InstanceTask | null;
  /** Reserved at create, shown once the instance has left `pending`. */
  addresses: InstanceAddresses;
  /** The secret part of the instance's console URL. */
  kvmToken: string;
}

/** The three status fields of §3.4 as a client sees them at one moment. */
export interface InstanceState {
  status: InstanceStatus;
  powerStatus: PowerStatus;
  serverStatus: ServerStatus;
  /** Whether addresses and the console URL are visible yet. */
  provisioned: boolean;
}

export interface InstanceFilter {
  tag?: string;
  label?: string;
  mainIp?: string;
  region?: string;
}

const DEFAULT_PASSWORD_ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789#{}[]!@%';

export class VultrStore {
  /** Insertion order is creation order, which is the order Vultr lists instances in. */
  private readonly instances = new Map<string, InstanceRecord>();
  /** Instances with a task, so settling costs the number of running tasks, not the account. */
  private readonly busy = new Set<InstanceRecord>();
  /** Survives `reset()` so no address is handed out twice in the life of the sandbox. */
  private addressCounter = 0;
  /** Bumped by every change a snapshot would hold, so a saver can tell whether to write. */
  private changes = 0;

  constructor(
    private readonly clock: Clock,
    readonly behaviour: VultrBehaviour,
  ) {}

  reset(): void {
    this.instances.clear();
    this.busy.clear();
    this.behaviour.stallNextCreates = 0;
    this.behaviour.suspendNextCreates = 0;
    this.behaviour.stallNextActions = 0;
    this.changes++;
  }

  /**
   * Increases whenever instances or counters change. Settling does not count: a task whose
   * time has passed settles the same way after a restore.
   */
  revision(): number {
    return this.changes;
  }

  snapshot(): VultrStoreSnapshot {
    return { addressCounter: this.addressCounter, instances: [...this.instances.values()].map(instanceSnapshot) };
  }

  /** Replaces every instance; the data is checked in full first, so a bad snapshot changes nothing. */
  restore(data: unknown, path: string): void {
    const state = readVultrStoreSnapshot(data, path);
    this.instances.clear();
    this.busy.clear();
    for (const instance of state.instances) {
      this.instances.set(instance.id, instance);
      if (instance.task !== null) this.busy.add(instance);
    }
    // Never move the counter backwards: addresses handed out before an in-process restore stay unique.
    this.addressCounter = Math.max(this.addressCounter, state.addressCounter);
    this.changes++;
  }

  /** Applies every task that has finished by now. */
  settle(): void {
    const now = this.clock.now();
    for (const instance of [...this.busy]) {
      const task = instance.task;
      if (task === null) {
        this.busy.delete(instance);
        continue;
      }
      if (task.completesAt === null || task.completesAt > now) continue;
      applyTask(instance, task);
      instance.task = null;
      this.busy.delete(instance);
    }
  }

  stateOf(instance: InstanceRecord): InstanceState {
    const now = this.clock.now();
    if (instance.activeAt === null || now < instance.activeAt) {
      return { status: 'pending', powerStatus: 'running', serverStatus: 'none', provisioned: false };
    }
    if (instance.provisionOutcome === 'suspended') {
      return { status: 'suspended', powerStatus: 'stopped', serverStatus: 'none', provisioned: true };
    }
    if (now < instance.readyAt) {
      return { status: 'active', powerStatus: 'running', serverStatus: 'installingbooting', provisioned: true };
    }
    const task = instance.task;
    return {
      status: task?.kind === 'resize' ? 'resizing' : 'active',
      powerStatus: instance.powerStatus,
      serverStatus: task === null ? 'ok' : 'locked',
      provisioned: true,
    };
  }

  // ---- instances ------------------------------------------------------------------------

  list(filter: InstanceFilter): InstanceRecord[] {
    return [...this.instances.values()].filter(
      (i) =>
        (filter.tag === undefined || i.tags.includes(filter.tag)) &&
        (filter.label === undefined || i.label === filter.label) &&
        (filter.region === undefined || i.region.id === filter.region) &&
        (filter.mainIp === undefined || visibleMainIp(i, this.stateOf(i)) === filter.mainIp),
    );
  }

  find(id: string): InstanceRecord | undefined {
    return this.instances.get(id);
  }

  /** Like `find`, but an unknown id is Vultr's 404. */
  get(id: string): InstanceRecord {
    const instance = this.instances.get(id);
    if (instance === undefined) throw instanceNotFound();
    return instance;
  }

  /** Returns the new instance and its root password, which Vultr shows only in this answer. */
  create(request: CreateInstanceRequest): { instance: InstanceRecord; defaultPassword: string } {
    const now = this.clock.now();
    const stalled = this.consume('stallNextCreates');
    const suspended = !stalled && this.consume('suspendNextCreates');
    const activeAt = now + this.behaviour.activeDelayMs;
    const instance: InstanceRecord = {
      id: randomUUID(),
      label: request.label,
      hostname: request.hostname,
      region: request.region,
      plan: request.plan,
      os: request.os,
      tags: request.tags,
      sshKeyIds: request.sshKeyIds,
      userData: request.userData,
      enableIpv6: request.enableIpv6,
      backups: request.backups,
      ddosProtection: request.ddosProtection,
      firewallGroupId: request.firewallGroupId,
      createdAt: now,
      activeAt: stalled ? null : activeAt,
      readyAt: activeAt + this.behaviour.bootDelayMs,
      provisionOutcome: suspended ? 'suspended' : 'active',
      powerStatus: 'running',
      task: null,
      addresses: this.allocateAddresses(),
      kvmToken: randomBytes(24).toString('base64url'),
    };
    this.instances.set(instance.id, instance);
    this.changes++;
    return { instance, defaultPassword: generatePassword() };
  }

  delete(id: string): void {
    const instance = this.get(id);
    this.instances.delete(id);
    this.busy.delete(instance);
    this.changes++;
  }

  /** `PATCH /instances/{id}`: everything is checked before anything changes. */
  update(id: string, update: UpdateInstanceRequest): InstanceRecord {
    const instance = this.get(id);
    const newPlan = update.plan !== undefined && update.plan.id !== instance.plan.id ? update.plan : undefined;
    if (newPlan !== undefined) {
      this.checkUnlocked(instance);
      if (!upgradesOf(instance.plan, instance.region.id).some((p) => p.id === newPlan.id)) {
        throw badRequest(
          `Invalid plan chosen. ${instance.plan.id} can only be upgraded to a plan listed by GET /instances/${id}/upgrades.`,
        );
      }
    }
    if (update.label !== undefined) instance.label = update.label;
    if (update.tags !== undefined) instance.tags = update.tags;
    if (update.userData !== undefined) instance.userData = update.userData;
    if (update.firewallGroupId !== undefined) instance.firewallGroupId = update.firewallGroupId;
    if (newPlan !== undefined) {
      this.startTask(instance, { kind: 'resize', plan: newPlan.id, completesAt: null }, this.behaviour.resizeDelayMs);
    }
    this.changes++;
    return instance;
  }

  /** The plans `GET /instances/{id}/upgrades` offers. */
  upgrades(id: string): VultrPlan[] {
    const instance = this.get(id);
    return upgradesOf(instance.plan, instance.region.id);
  }

  /**
   * Halt, start or reboot one or more instances; every instance is checked before any of
   * them changes, so a bulk request either applies to all or to none.
   */
  power(ids: readonly string[], kind: PowerTaskKind): void {
    const instances = ids.map((id) => this.get(id));
    for (const instance of instances) this.checkUnlocked(instance);
    for (const instance of instances) {
      // Halting a halted instance (or starting a running one) is accepted and changes nothing.
      if (kind === 'halt' && instance.powerStatus === 'stopped') continue;
      if (kind === 'start' && instance.powerStatus === 'running') continue;
      this.startTask(instance, { kind, completesAt: null }, this.behaviour.actionDelayMs);
    }
    this.changes++;
  }

  /** Power and plan changes need a provisioned instance that no other task holds. */
  private checkUnlocked(instance: InstanceRecord): void {
    const state = this.stateOf(instance);
    if (state.status !== 'active' || state.serverStatus !== 'ok') throw locked();
  }

  private startTask(instance: InstanceRecord, task: InstanceTask, durationMs: number): void {
    const stalled = this.consume('stallNextActions');
    if (!stalled && durationMs <= 0) {
      // Already over: apply it before anyone can observe the gap.
      applyTask(instance, task);
      return;
    }
    instance.task = { ...task, completesAt: stalled ? null : this.clock.now() + durationMs };
    this.busy.add(instance);
  }

  private consume(key: 'stallNextCreates' | 'suspendNextCreates' | 'stallNextActions'): boolean {
    if (this.behaviour[key] <= 0) return false;
    this.behaviour[key] -= 1;
    return true;
  }

  /**
   * Public IPv4 addresses come from 198.19.128.0/17 (reserved for network testing, so never
   * a real host, and apart from the simulated DigitalOcean's); each instance also gets its
   * own IPv6 /64 from the documentation prefix.
   */
  private allocateAddresses(): InstanceAddresses {
    const n = this.addressCounter++;
    const hostsPerSubnet = 253; // .2 – .254; .1 is the gateway
    const subnet = Math.floor(n / hostsPerSubnet) & 127;
    const host = (n % hostsPerSubnet) + 2;
    const prefix = `198.19.${128 + subnet}`;
    const v6Network = `2001:db8:${((n >>> 16) & 0xffff).toString(16)}:${(n & 0xffff).toString(16)}::`;
    return {
      mainIp: `${prefix}.${host}`,
      netmaskV4: '255.255.255.0',
      gatewayV4: `${prefix}.1`,
      v6Network,
      v6MainIp: `${v6Network}1`,
    };
  }
}

/** The IPv4 a client sees: Vultr shows 0.0.0.0 until the instance is provisioned. */
export function visibleMainIp(instance: InstanceRecord, state: InstanceState): string {
  return state.provisioned ? instance.addresses.mainIp : '0.0.0.0';
}

function applyTask(instance: InstanceRecord, task: InstanceTask): void {
  switch (task.kind) {
    case 'halt':
      instance.powerStatus = 'stopped';
      return;
    case 'start':
    case 'reboot':
      // A reboot of a halted instance boots it, like pressing the power button would.
      instance.powerStatus = 'running';
      return;
    case 'resize': {
      // The plan id was checked against the catalogue when the change was accepted (or restored).
      const plan = findPlan(task.plan);
      if (plan !== undefined) instance.plan = plan;
      return;
    }
  }
}

function generatePassword(): string {
  const bytes = randomBytes(16);
  let password = '';
  for (const byte of bytes) password += DEFAULT_PASSWORD_ALPHABET[byte % DEFAULT_PASSWORD_ALPHABET.length];
  return password;
}
