/**
 * The DigitalOcean store's part of the sandbox state file: droplets, actions and the
 * counters that keep ids and addresses unique across restarts, as plain JSON.
 *
 * Catalogue entries are stored by slug (size, region) or id (image) and looked up again
 * on restore, so the file stays small. Times are epoch milliseconds on the sandbox clock;
 * an action still in progress keeps its completion time, so a droplet saved as `new`
 * becomes `active` when its original create delay has passed on the clock.
 */
import { type DoImage, type DoRegion, type DoSize, findImage, findRegion, findSize } from './catalogue.js';
import { DROPLET_ACTION_EFFECT_KINDS, type DropletActionEffect } from './action-effects.js';
import type { ActionRecord, DropletAddresses, DropletRecord, DropletStatus } from './store.js';
import {
  SnapshotFormatError,
  arrayAt,
  booleanAt,
  countAt,
  knownAt,
  objectAt,
  oneOfAt,
  stringAt,
  stringsAt,
} from '../snapshot-fields.js';

export interface DigitalOceanStoreSnapshot {
  nextDropletId: number;
  nextActionId: number;
  addressCounter: number;
  vpcByRegion: Record<string, string>;
  droplets: DropletSnapshot[];
  actions: ActionSnapshot[];
}

export interface DropletSnapshot {
  id: number;
  name: string;
  status: DropletStatus;
  /** Size slug. */
  size: string;
  diskGb: number;
  /** Image id. */
  image: number;
  /** Region slug. */
  region: string;
  tags: string[];
  createdAtMs: number;
  backups: boolean;
  ipv6: boolean;
  monitoring: boolean;
  vpcUuid: string;
  volumeIds: string[];
  addresses: DropletAddresses;
}

export interface ActionSnapshot {
  id: number;
  type: string;
  dropletId: number;
  regionSlug: string;
  startedAtMs: number;
  completesAtMs: number;
  outcome: ActionRecord['outcome'];
  settled: boolean;
  effect: DropletActionEffect | null;
}

/** What a snapshot restores to: records ready to put into the store's maps. */
export interface RestoredDigitalOceanStore {
  nextDropletId: number;
  nextActionId: number;
  addressCounter: number;
  vpcByRegion: Map<string, string>;
  droplets: DropletRecord[];
  actions: ActionRecord[];
}

const DROPLET_STATUSES: readonly DropletStatus[] = ['new', 'active', 'off', 'archive'];
const ACTION_OUTCOMES: ReadonlyArray<ActionRecord['outcome']> = ['completed', 'errored'];

export function dropletSnapshot(d: DropletRecord): DropletSnapshot {
  return {
    id: d.id,
    name: d.name,
    status: d.status,
    size: d.size.slug,
    diskGb: d.diskGb,
    image: d.image.id,
    region: d.region.slug,
    tags: [...d.tags],
    createdAtMs: d.createdAt,
    backups: d.backups,
    ipv6: d.ipv6,
    monitoring: d.monitoring,
    vpcUuid: d.vpcUuid,
    volumeIds: [...d.volumeIds],
    addresses: { ...d.addresses },
  };
}

export function actionSnapshot(a: ActionRecord): ActionSnapshot {
  return {
    id: a.id,
    type: a.type,
    dropletId: a.dropletId,
    regionSlug: a.regionSlug,
    startedAtMs: a.startedAt,
    completesAtMs: a.completesAt,
    outcome: a.outcome,
    settled: a.settled,
    effect: a.effect === null ? null : { ...a.effect },
  };
}

/** Checks a snapshot in full and turns it into store records; throws SnapshotFormatError. */
export function readDigitalOceanStoreSnapshot(data: unknown, path: string): RestoredDigitalOceanStore {
  const raw = objectAt(data, path);
  const droplets = arrayAt(raw.droplets, `${path}.droplets`).map((d, i) => readDroplet(d, `${path}.droplets[${i}]`));
  const actions = arrayAt(raw.actions, `${path}.actions`).map((a, i) => readAction(a, `${path}.actions[${i}]`));
  rejectDuplicateIds(droplets, `${path}.droplets`);
  rejectDuplicateIds(actions, `${path}.actions`);

  const pending = new Set<number>();
  for (const action of actions) {
    if (action.settled) continue;
    if (pending.has(action.dropletId)) {
      throw new SnapshotFormatError(`${path}.actions holds two unfinished actions for droplet ${action.dropletId}`);
    }
    pending.add(action.dropletId);
  }

  const vpcs = objectAt(raw.vpcByRegion, `${path}.vpcByRegion`);
  const vpcByRegion = new Map<string, string>();
  for (const [region, vpc] of Object.entries(vpcs)) vpcByRegion.set(region, stringAt(vpc, `${path}.vpcByRegion.${region}`));

  // Counters below an id already in use would hand that id out twice.
  // A reduce rather than Math.max(...ids): a long action history would overflow the call stack.
  const highestDropletId = [...droplets.map((d) => d.id), ...actions.map((a) => a.dropletId)].reduce(
    (max, id) => Math.max(max, id),
    0,
  );
  const highestActionId = actions.reduce((max, a) => Math.max(max, a.id), 0);
  return {
    nextDropletId: Math.max(countAt(raw.nextDropletId, `${path}.nextDropletId`), highestDropletId + 1),
    nextActionId: Math.max(countAt(raw.nextActionId, `${path}.nextActionId`), highestActionId + 1),
    addressCounter: countAt(raw.addressCounter, `${path}.addressCounter`),
    vpcByRegion,
    droplets,
    actions,
  };
}

function readDroplet(value: unknown, path: string): DropletRecord {
  const raw = objectAt(value, path);
  const sizeSlug = stringAt(raw.size, `${path}.size`);
  const imageId = countAt(raw.image, `${path}.image`);
  const regionSlug = stringAt(raw.region, `${path}.region`);
  const addresses = objectAt(raw.addresses, `${path}.addresses`);
  const address = (field: keyof DropletAddresses): string => stringAt(addresses[field], `${path}.addresses.${field}`);
  return {
    id: countAt(raw.id, `${path}.id`),
    name: stringAt(raw.name, `${path}.name`),
    status: oneOfAt(raw.status, `${path}.status`, DROPLET_STATUSES),
    size: knownAt<DoSize>(findSize(sizeSlug), `${path}.size`, sizeSlug),
    diskGb: countAt(raw.diskGb, `${path}.diskGb`),
    image: knownAt<DoImage>(findImage(imageId), `${path}.image`, imageId),
    region: knownAt<DoRegion>(findRegion(regionSlug), `${path}.region`, regionSlug),
    tags: stringsAt(raw.tags, `${path}.tags`),
    createdAt: countAt(raw.createdAtMs, `${path}.createdAtMs`),
    backups: booleanAt(raw.backups, `${path}.backups`),
    ipv6: booleanAt(raw.ipv6, `${path}.ipv6`),
    monitoring: booleanAt(raw.monitoring, `${path}.monitoring`),
    vpcUuid: stringAt(raw.vpcUuid, `${path}.vpcUuid`),
    volumeIds: stringsAt(raw.volumeIds, `${path}.volumeIds`),
    addresses: {
      publicV4: address('publicV4'),
      publicGatewayV4: address('publicGatewayV4'),
      privateV4: address('privateV4'),
      publicV6: address('publicV6'),
      publicGatewayV6: address('publicGatewayV6'),
    },
  };
}

function readAction(value: unknown, path: string): ActionRecord {
  const raw = objectAt(value, path);
  const startedAt = countAt(raw.startedAtMs, `${path}.startedAtMs`);
  const completesAt = countAt(raw.completesAtMs, `${path}.completesAtMs`);
  if (completesAt < startedAt) {
    throw new SnapshotFormatError(`${path}.completesAtMs must not be before ${path}.startedAtMs`);
  }
  return {
    id: countAt(raw.id, `${path}.id`),
    type: stringAt(raw.type, `${path}.type`),
    dropletId: countAt(raw.dropletId, `${path}.dropletId`),
    regionSlug: stringAt(raw.regionSlug, `${path}.regionSlug`),
    startedAt,
    completesAt,
    outcome: oneOfAt(raw.outcome, `${path}.outcome`, ACTION_OUTCOMES),
    settled: booleanAt(raw.settled, `${path}.settled`),
    effect: raw.effect === null ? null : readEffect(raw.effect, `${path}.effect`),
  };
}

function readEffect(value: unknown, path: string): DropletActionEffect {
  const raw = objectAt(value, path);
  const kind = oneOfAt(raw.kind, `${path}.kind`, DROPLET_ACTION_EFFECT_KINDS);
  switch (kind) {
    case 'set_status':
      return { kind, status: oneOfAt(raw.status, `${path}.status`, ['active', 'off'] as const) };
    case 'rename':
      return { kind, name: stringAt(raw.name, `${path}.name`) };
    case 'resize': {
      const size = stringAt(raw.size, `${path}.size`);
      knownAt(findSize(size), `${path}.size`, size);
      return { kind, size, growDisk: booleanAt(raw.growDisk, `${path}.growDisk`) };
    }
    case 'rebuild': {
      const image = countAt(raw.image, `${path}.image`);
      knownAt(findImage(image), `${path}.image`, image);
      return { kind, image };
    }
    case 'enable_ipv6':
      return { kind };
    case 'set_backups':
      return { kind, enabled: booleanAt(raw.enabled, `${path}.enabled`) };
  }
}

function rejectDuplicateIds(records: ReadonlyArray<{ id: number }>, path: string): void {
  const seen = new Set<number>();
  for (const { id } of records) {
    if (seen.has(id)) throw new SnapshotFormatError(`${path} holds id ${id} twice`);
    seen.add(id);
  }
}
