/**
 * In-memory DigitalOcean account: droplets, their action objects, and the state machine
 * of PROVIDERS.md §5.3. No HTTP here; the router renders what this returns.
 *
 * Nothing runs on a timer. An action records when it completes; `settle()` (called at the
 * start of every request) applies the effects of every action whose completion time has
 * passed on the injected clock, in completion order. So the state a client sees is always
 * the state at `clock.now()`, and a manual clock makes every transition deterministic.
 *
 * `snapshot()` and `restore()` carry the whole account across a sandbox restart; the
 * format lives in snapshot.ts.
 */
import { randomUUID } from 'node:crypto';
import { type Clock, isoSeconds } from '../clock.js';
import { type DropletActionEffect, applyDropletActionEffect } from './action-effects.js';
import {
  DO_REGIONS,
  type DoImage,
  type DoRegion,
  type DoSize,
  findImage,
  findRegion,
  findSize,
} from './catalogue.js';
import { badRequest, notFound, unprocessable } from './errors.js';
import {
  type DigitalOceanStoreSnapshot,
  actionSnapshot,
  dropletSnapshot,
  readDigitalOceanStoreSnapshot,
} from './snapshot.js';

export interface DigitalOceanBehaviour {
  /** Time from create until the droplet is `active` and its create action completes. */
  activeDelayMs: number;
  /** Time a power/resize/rename action stays `in-progress`. */
  actionDelayMs: number;
  /** The next N create actions end `errored` (the droplet stays `new`). */
  failNextCreates: number;
  /** The next N non-create actions end `errored` (the droplet is left unchanged). */
  failNextActions: number;
  /** Account droplet limit; creates beyond it are refused with 422. */
  dropletLimit: number;
}

export type DropletStatus = 'new' | 'active' | 'off' | 'archive';
export type ActionStatus = 'in-progress' | 'completed' | 'errored';

export interface DropletAddresses {
  publicV4: string;
  publicGatewayV4: string;
  privateV4: string;
  publicV6: string;
  publicGatewayV6: string;
}

export interface DropletRecord {
  id: number;
  name: string;
  status: DropletStatus;
  size: DoSize;
  /** Actual disk in GB; only a `resize` with `disk: true` grows it. */
  diskGb: number;
  image: DoImage;
  region: DoRegion;
  tags: string[];
  createdAt: number;
  backups: boolean;
  ipv6: boolean;
  monitoring: boolean;
  vpcUuid: string;
  volumeIds: string[];
  addresses: DropletAddresses;
}

export interface ActionRecord {
  id: number;
  type: string;
  dropletId: number;
  regionSlug: string;
  startedAt: number;
  completesAt: number;
  outcome: 'completed' | 'errored';
  /** Whether `settle()` has already processed this action. */
  settled: boolean;
  /** What the action does to its droplet if it completes. */
  effect: DropletActionEffect | null;
}

/** Droplet names: hostname-ish, ≤255 chars (§1.3). */
const DROPLET_NAME = /^[a-zA-Z0-9]?[a-z0-9A-Z.-]*[a-z0-9A-Z]$/;
/** Tag names: letters, numbers, colons, dashes and underscores, ≤255 chars. */
const TAG_NAME = /^[a-zA-Z0-9_:-]{1,255}$/;
const MAX_USER_DATA_BYTES = 64 * 1024;
const MAX_MULTI_CREATE = 10;

/** Distinct id ranges make a droplet id passed where an action id belongs fail loudly. */
const FIRST_DROPLET_ID = 100_000_001;
const FIRST_ACTION_ID = 200_000_001;

const POWER_AND_MAINTENANCE_ACTIONS = new Set([
  'reboot',
  'power_cycle',
  'shutdown',
  'power_off',
  'power_on',
  'resize',
  'rename',
  'rebuild',
  'enable_ipv6',
  'enable_backups',
  'disable_backups',
  'password_reset',
]);

export class DigitalOceanStore {
  private readonly droplets = new Map<number, DropletRecord>();
  private readonly actions = new Map<number, ActionRecord>();
  /** The unsettled action holding each droplet; at most one, since a second is refused. */
  private readonly pendingByDroplet = new Map<number, ActionRecord>();
  /** Kept apart so settling costs the number of running actions, not the whole history. */
  private readonly unsettled = new Set<ActionRecord>();
  /** Counters survive `reset()` so ids stay monotonic for the life of the sandbox. */
  private nextDropletId = FIRST_DROPLET_ID;
  private nextActionId = FIRST_ACTION_ID;
  private addressCounter = 0;
  private readonly vpcByRegion = new Map<string, string>();
  /** Bumped by every change a snapshot would hold, so a saver can tell whether to write. */
  private changes = 0;

  constructor(
    private readonly clock: Clock,
    readonly behaviour: DigitalOceanBehaviour,
  ) {}

  reset(): void {
    this.droplets.clear();
    this.actions.clear();
    this.pendingByDroplet.clear();
    this.unsettled.clear();
    this.behaviour.failNextCreates = 0;
    this.behaviour.failNextActions = 0;
    this.changes++;
  }

  /**
   * Increases whenever droplets, actions or counters change. Settling does not count: an
   * unsettled action whose time has passed settles the same way after a restore.
   */
  revision(): number {
    return this.changes;
  }

  snapshot(): DigitalOceanStoreSnapshot {
    const byId = (a: { id: number }, b: { id: number }): number => a.id - b.id;
    return {
      nextDropletId: this.nextDropletId,
      nextActionId: this.nextActionId,
      addressCounter: this.addressCounter,
      vpcByRegion: Object.fromEntries(this.vpcByRegion),
      droplets: [...this.droplets.values()].sort(byId).map(dropletSnapshot),
      actions: [...this.actions.values()].sort(byId).map(actionSnapshot),
    };
  }

  /**
   * Replaces every droplet and action with those in `data`. The data is checked in full
   * before anything is replaced, so a bad snapshot throws and leaves the store as it was.
   * `path` names the snapshot's place in the state file for error messages.
   */
  restore(data: unknown, path: string): void {
    const state = readDigitalOceanStoreSnapshot(data, path);
    this.droplets.clear();
    this.actions.clear();
    this.pendingByDroplet.clear();
    this.unsettled.clear();
    for (const droplet of state.droplets) this.droplets.set(droplet.id, droplet);
    for (const action of state.actions) {
      this.actions.set(action.id, action);
      if (!action.settled) {
        this.unsettled.add(action);
        this.pendingByDroplet.set(action.dropletId, action);
      }
    }
    // Never move a counter backwards: ids handed out before an in-process restore stay unique.
    this.nextDropletId = Math.max(this.nextDropletId, state.nextDropletId);
    this.nextActionId = Math.max(this.nextActionId, state.nextActionId);
    this.addressCounter = Math.max(this.addressCounter, state.addressCounter);
    this.vpcByRegion.clear();
    for (const [region, vpc] of state.vpcByRegion) this.vpcByRegion.set(region, vpc);
    this.changes++;
  }

  /** Applies every action that has finished by now, oldest completion first. */
  settle(): void {
    const now = this.clock.now();
    const due = [...this.unsettled]
      .filter((a) => a.completesAt <= now)
      .sort((a, b) => a.completesAt - b.completesAt || a.id - b.id);
    for (const action of due) {
      action.settled = true;
      this.unsettled.delete(action);
      if (this.pendingByDroplet.get(action.dropletId) === action) this.pendingByDroplet.delete(action.dropletId);
      const droplet = this.droplets.get(action.dropletId);
      if (action.outcome === 'completed' && droplet !== undefined && action.effect !== null) {
        applyDropletActionEffect(action.effect, droplet);
      }
    }
  }

  // ---- droplets -------------------------------------------------------------------------

  listDroplets(filter: { tagName?: string; name?: string }): DropletRecord[] {
    const wantedName = filter.name?.toLowerCase();
    return [...this.droplets.values()]
      .filter((d) => filter.tagName === undefined || d.tags.includes(filter.tagName))
      .filter((d) => wantedName === undefined || d.name.toLowerCase() === wantedName)
      .sort((a, b) => a.id - b.id);
  }

  getDroplet(id: number): DropletRecord {
    const droplet = this.droplets.get(id);
    if (droplet === undefined) throw notFound();
    return droplet;
  }

  createDroplets(body: unknown): { droplets: DropletRecord[]; actions: ActionRecord[] } {
    const request = parseCreateRequest(body);
    if (this.droplets.size + request.names.length > this.behaviour.dropletLimit) {
      throw unprocessable('creating this/these droplet(s) will exceed your droplet limit');
    }
    const now = this.clock.now();
    const droplets: DropletRecord[] = [];
    const actions: ActionRecord[] = [];
    for (const name of request.names) {
      const droplet: DropletRecord = {
        id: this.nextDropletId++,
        name,
        status: 'new',
        size: request.size,
        diskGb: request.size.disk,
        image: request.image,
        region: request.region,
        tags: request.tags,
        createdAt: now,
        backups: request.backups,
        ipv6: request.ipv6,
        monitoring: request.monitoring,
        vpcUuid: request.vpcUuid ?? this.defaultVpc(request.region.slug),
        volumeIds: request.volumes,
        addresses: this.allocateAddresses(),
      };
      this.droplets.set(droplet.id, droplet);
      droplets.push(droplet);
      actions.push(
        this.recordAction(droplet, 'create', this.behaviour.activeDelayMs, this.consumeFailure('create'), {
          kind: 'set_status',
          status: 'active',
        }),
      );
    }
    return { droplets, actions };
  }

  deleteDroplet(id: number): void {
    const droplet = this.getDroplet(id);
    this.droplets.delete(id);
    // DigitalOcean records the destroy as an action on the account; it is never pending here.
    this.recordAction(droplet, 'destroy', 0, 'completed', null);
  }

  deleteDropletsByTag(tagName: string): void {
    for (const droplet of this.listDroplets({ tagName })) this.deleteDroplet(droplet.id);
  }

  // ---- actions --------------------------------------------------------------------------

  startAction(dropletId: number, body: unknown): ActionRecord {
    const droplet = this.getDroplet(dropletId);
    if (!isPlainObject(body)) throw badRequest('error parsing request body');
    const type = body.type;
    if (type === undefined || type === null || type === '') throw unprocessable('type is required');
    if (typeof type !== 'string' || !POWER_AND_MAINTENANCE_ACTIONS.has(type)) {
      throw unprocessable(`type ${JSON.stringify(type)} is not a supported droplet action`);
    }
    if (this.pendingActionOf(droplet.id) !== undefined) {
      throw unprocessable('Droplet already has a pending event.');
    }
    if (droplet.status === 'new') {
      // Only reachable when the create action errored: the droplet never came up.
      throw unprocessable('Droplet is not ready; it failed to provision.');
    }

    const effect = this.effectOf(type, droplet, body);
    return this.recordAction(droplet, type, this.behaviour.actionDelayMs, this.consumeFailure('action'), effect);
  }

  getAction(id: number): ActionRecord {
    const action = this.actions.get(id);
    if (action === undefined) throw notFound();
    return action;
  }

  listActions(dropletId?: number): ActionRecord[] {
    return [...this.actions.values()]
      .filter((a) => dropletId === undefined || a.dropletId === dropletId)
      .sort((a, b) => a.id - b.id);
  }

  /**
   * Read from `settled` rather than the clock so an action never shows as finished
   * before its effect on the droplet is visible in the same response.
   */
  actionStatus(action: ActionRecord): ActionStatus {
    return action.settled ? action.outcome : 'in-progress';
  }

  /** Create does not show `locked`; DigitalOcean reports new droplets as unlocked. */
  isLocked(droplet: DropletRecord): boolean {
    const pending = this.pendingActionOf(droplet.id);
    return pending !== undefined && pending.type !== 'create';
  }

  private pendingActionOf(dropletId: number): ActionRecord | undefined {
    return this.pendingByDroplet.get(dropletId);
  }

  /** Checks an action against the droplet's current state and returns what it will do. */
  private effectOf(type: string, droplet: DropletRecord, body: Record<string, unknown>): ActionRecord['effect'] {
    switch (type) {
      case 'power_on':
        if (droplet.status === 'active') throw unprocessable('Droplet is already powered on.');
        return { kind: 'set_status', status: 'active' };
      case 'power_off':
      case 'shutdown':
        if (droplet.status === 'off') throw unprocessable('Droplet is already powered off.');
        return { kind: 'set_status', status: 'off' };
      case 'reboot':
      case 'power_cycle':
        // Both end with the droplet running, whatever its power state before.
        return { kind: 'set_status', status: 'active' };
      case 'resize':
        return resizeEffect(droplet, body);
      case 'rename':
        return { kind: 'rename', name: checkDropletName(body.name, 'name') };
      case 'rebuild':
        return { kind: 'rebuild', image: checkImage(body.image).id };
      case 'enable_ipv6':
        return { kind: 'enable_ipv6' };
      case 'enable_backups':
        return { kind: 'set_backups', enabled: true };
      case 'disable_backups':
        return { kind: 'set_backups', enabled: false };
      default:
        return null;
    }
  }

  private recordAction(
    droplet: DropletRecord,
    type: string,
    durationMs: number,
    outcome: ActionRecord['outcome'],
    effect: ActionRecord['effect'],
  ): ActionRecord {
    const now = this.clock.now();
    const action: ActionRecord = {
      id: this.nextActionId++,
      type,
      dropletId: droplet.id,
      regionSlug: droplet.region.slug,
      startedAt: now,
      completesAt: now + Math.max(0, durationMs),
      outcome,
      settled: false,
      effect,
    };
    this.actions.set(action.id, action);
    this.pendingByDroplet.set(droplet.id, action);
    this.unsettled.add(action);
    this.changes++;
    // A zero-length action is already over; apply it before anyone can observe the gap.
    if (durationMs <= 0) this.settle();
    return action;
  }

  private consumeFailure(kind: 'create' | 'action'): ActionRecord['outcome'] {
    const key = kind === 'create' ? 'failNextCreates' : 'failNextActions';
    if (this.behaviour[key] > 0) {
      this.behaviour[key] -= 1;
      return 'errored';
    }
    return 'completed';
  }

  private defaultVpc(regionSlug: string): string {
    let vpc = this.vpcByRegion.get(regionSlug);
    if (vpc === undefined) {
      vpc = randomUUID();
      this.vpcByRegion.set(regionSlug, vpc);
    }
    return vpc;
  }

  /**
   * Public addresses come from 198.18.0.0/15 (reserved for network testing, so never a
   * real host) and private ones from 10.0.0.0/8; each droplet gets the next free pair.
   */
  private allocateAddresses(): DropletAddresses {
    const n = this.addressCounter++;
    const hostsPerSubnet = 253; // .2 – .254; .1 is the gateway
    const subnet = Math.floor(n / hostsPerSubnet);
    const host = (n % hostsPerSubnet) + 2;
    const publicPrefix = `198.${18 + ((subnet >> 8) & 1)}.${subnet & 255}`;
    const v6Prefix = `2001:db8:0:${(subnet & 0xffff).toString(16)}`;
    return {
      publicV4: `${publicPrefix}.${host}`,
      publicGatewayV4: `${publicPrefix}.1`,
      privateV4: `10.${100 + ((subnet >> 8) & 127)}.${subnet & 255}.${host}`,
      publicV6: `${v6Prefix}::${host.toString(16)}`,
      publicGatewayV6: `${v6Prefix}::1`,
    };
  }

  // ---- rendering ------------------------------------------------------------------------

  dropletJson(d: DropletRecord): Record<string, unknown> {
    const features: string[] = [];
    if (d.backups) features.push('backups');
    features.push('private_networking');
    if (d.ipv6) features.push('ipv6');
    if (d.monitoring) features.push('monitoring');

    return {
      id: d.id,
      name: d.name,
      memory: d.size.memory,
      vcpus: d.size.vcpus,
      disk: d.diskGb,
      disk_info: [{ type: 'local', size: { amount: d.diskGb, unit: 'gib' } }],
      locked: this.isLocked(d),
      status: d.status,
      kernel: null,
      created_at: isoSeconds(d.createdAt),
      features,
      backup_ids: [],
      next_backup_window: null,
      snapshot_ids: [],
      image: { ...d.image, regions: [...d.image.regions], tags: [...d.image.tags] },
      volume_ids: [...d.volumeIds],
      size: { ...d.size, regions: [...d.size.regions] },
      size_slug: d.size.slug,
      networks: networksJson(d),
      region: regionJson(d.region),
      tags: [...d.tags],
      vpc_uuid: d.vpcUuid,
    };
  }

  actionJson(a: ActionRecord): Record<string, unknown> {
    const status = this.actionStatus(a);
    const region = findRegion(a.regionSlug);
    return {
      id: a.id,
      status,
      type: a.type,
      started_at: isoSeconds(a.startedAt),
      completed_at: status === 'in-progress' ? null : isoSeconds(a.completesAt),
      resource_id: a.dropletId,
      resource_type: 'droplet',
      region: region === undefined ? null : regionJson(region),
      region_slug: a.regionSlug,
    };
  }
}

export function regionJson(r: DoRegion): Record<string, unknown> {
  return { name: r.name, slug: r.slug, features: [...r.features], available: r.available, sizes: [...r.sizes] };
}

/** Addresses are reserved at create but only visible once the droplet has come up. */
function networksJson(d: DropletRecord): { v4: unknown[]; v6: unknown[] } {
  if (d.status === 'new') return { v4: [], v6: [] };
  const a = d.addresses;
  return {
    v4: [
      { ip_address: a.privateV4, netmask: '255.255.0.0', type: 'private' },
      { ip_address: a.publicV4, netmask: '255.255.255.0', gateway: a.publicGatewayV4, type: 'public' },
    ],
    v6: d.ipv6 ? [{ ip_address: a.publicV6, netmask: 64, gateway: a.publicGatewayV6, type: 'public' }] : [],
  };
}

// ---- request validation ----------------------------------------------------------------

interface CreateRequest {
  names: string[];
  size: DoSize;
  image: DoImage;
  region: DoRegion;
  tags: string[];
  backups: boolean;
  ipv6: boolean;
  monitoring: boolean;
  vpcUuid: string | undefined;
  volumes: string[];
}

function parseCreateRequest(body: unknown): CreateRequest {
  if (!isPlainObject(body)) throw badRequest('error parsing request body');

  const names =
    body.names !== undefined && body.names !== null ? checkNames(body.names) : [checkDropletName(body.name, 'name')];

  if (isMissing(body.size)) throw unprocessable('size is required');
  if (typeof body.size !== 'string') throw unprocessable('size must be a string (a size slug)');
  const size = findSize(body.size);
  if (size === undefined) {
    throw unprocessable(`You specified an invalid size for Droplet creation: ${JSON.stringify(body.size)}.`);
  }

  const image = checkImage(body.image);
  const region = checkRegion(body.region, size);

  const tags = checkTags(body.tags);
  checkSshKeys(body.ssh_keys);
  checkUserData(body.user_data);
  for (const flag of ['backups', 'ipv6', 'monitoring', 'private_networking', 'with_droplet_agent'] as const) {
    if (body[flag] !== undefined && body[flag] !== null && typeof body[flag] !== 'boolean') {
      throw unprocessable(`${flag} must be a boolean`);
    }
  }
  if (body.vpc_uuid !== undefined && body.vpc_uuid !== null && typeof body.vpc_uuid !== 'string') {
    throw unprocessable('vpc_uuid must be a string');
  }
  const volumes = checkStringList(body.volumes, 'volumes');

  return {
    names,
    size,
    image,
    region,
    tags,
    backups: body.backups === true,
    ipv6: body.ipv6 === true,
    monitoring: body.monitoring === true,
    vpcUuid: typeof body.vpc_uuid === 'string' ? body.vpc_uuid : undefined,
    volumes,
  };
}

function checkNames(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw unprocessable('names must be a non-empty array of names');
  if (value.length > MAX_MULTI_CREATE) {
    throw unprocessable(`names may hold at most ${MAX_MULTI_CREATE} names per request`);
  }
  return value.map((n, i) => checkDropletName(n, `names[${i}]`));
}

function checkDropletName(value: unknown, field: string): string {
  if (isMissing(value)) throw unprocessable(`${field} is required`);
  if (typeof value !== 'string') throw unprocessable(`${field} must be a string`);
  if (value.length > 255) throw unprocessable(`${field} must be at most 255 characters`);
  if (!DROPLET_NAME.test(value)) {
    throw unprocessable(
      `${field} ${JSON.stringify(value)} is invalid: only valid hostname characters are allowed (a-z, A-Z, 0-9, . and -).`,
    );
  }
  return value;
}

function checkImage(value: unknown): DoImage {
  if (isMissing(value)) throw unprocessable('image is required');
  if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) {
    throw unprocessable('image must be an image slug or an integer image id');
  }
  const image = findImage(value);
  if (image === undefined) {
    throw unprocessable(`You specified an invalid image for Droplet creation: ${JSON.stringify(value)}.`);
  }
  return image;
}

/** Region is optional; a slug, or a prefix like `nyc` meaning "any datacenter there". */
function checkRegion(value: unknown, size: DoSize): DoRegion {
  if (isMissing(value)) {
    const anyRegion = DO_REGIONS.find((r) => r.available && r.sizes.includes(size.slug));
    if (anyRegion === undefined) throw unprocessable(`Size ${size.slug} is not available in any region.`);
    return anyRegion;
  }
  if (typeof value !== 'string') throw unprocessable('region must be a string (a region slug)');
  const exact = findRegion(value);
  if (exact !== undefined) {
    if (!exact.sizes.includes(size.slug)) {
      throw unprocessable(`Size ${size.slug} is not available in region ${exact.slug}.`);
    }
    return exact;
  }
  if (/^[a-z]+$/.test(value)) {
    const inArea = DO_REGIONS.filter((r) => r.slug.startsWith(value));
    const offering = inArea.find((r) => r.sizes.includes(size.slug));
    if (offering !== undefined) return offering;
    if (inArea.length > 0) throw unprocessable(`Size ${size.slug} is not available in region ${value}.`);
  }
  throw unprocessable(`You specified an invalid region for Droplet creation: ${JSON.stringify(value)}.`);
}

function checkTags(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw unprocessable('tags must be an array of tag names');
  const tags: string[] = [];
  for (const tag of value) {
    if (typeof tag !== 'string' || !TAG_NAME.test(tag)) {
      throw unprocessable(
        `tags: ${JSON.stringify(tag)} is invalid. Tags may contain letters, numbers, colons, dashes, and underscores, with at most 255 characters.`,
      );
    }
    if (!tags.includes(tag)) tags.push(tag);
  }
  return tags;
}

function checkSshKeys(value: unknown): void {
  if (value === undefined || value === null) return;
  const ok =
    Array.isArray(value) && value.every((k) => (typeof k === 'number' && Number.isInteger(k)) || typeof k === 'string');
  if (!ok) throw unprocessable('ssh_keys must be an array of key ids (integers) or fingerprints (strings)');
}

function checkUserData(value: unknown): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'string') throw unprocessable('user_data must be a string');
  if (Buffer.byteLength(value, 'utf8') > MAX_USER_DATA_BYTES) {
    throw unprocessable('user_data must be at most 64 KiB');
  }
}

function checkStringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw unprocessable(`${field} must be an array of strings`);
  }
  return [...value];
}

function resizeEffect(droplet: DropletRecord, body: Record<string, unknown>): ActionRecord['effect'] {
  if (isMissing(body.size)) throw unprocessable('size is required');
  if (typeof body.size !== 'string') throw unprocessable('size must be a string (a size slug)');
  const target = findSize(body.size);
  if (target === undefined) {
    throw unprocessable(`You specified an invalid size for Droplet resize: ${JSON.stringify(body.size)}.`);
  }
  if (body.disk !== undefined && typeof body.disk !== 'boolean') throw unprocessable('disk must be a boolean');
  if (droplet.status !== 'off') {
    throw unprocessable('Droplet must be powered off before it can be resized.');
  }
  if (!target.regions.includes(droplet.region.slug)) {
    throw unprocessable(`Size ${target.slug} is not available in region ${droplet.region.slug}.`);
  }
  if (target.disk < droplet.diskGb) {
    throw unprocessable("Size can not decrease size of Droplet's disk image");
  }
  return { kind: 'resize', size: target.slug, growDisk: body.disk === true };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isMissing(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

