/**
 * The UpCloud store's part of the sandbox state file: servers (with their pending state
 * changes), storages, and the counter that keeps addresses unique across restarts.
 *
 * Zones, plans and template origins are stored by id and checked against the catalogue
 * on restore. Times are epoch milliseconds on the sandbox clock, so a server saved in
 * `maintenance` becomes `started` when its original delay has passed on the clock.
 */
import { findPlan, findTemplate, findZone } from './catalogue.js';
import type { IpFamily, InterfaceType, StorageTier } from './create-request.js';
import type { UpCloudLabel } from './labels.js';
import type { InterfaceRecord, ServerRecord, ServerTransition, StorageRecord, UpCloudServerState } from './store.js';
import { SnapshotFormatError, arrayAt, booleanAt, countAt, knownAt, objectAt, oneOfAt, stringAt, stringsAt } from '../snapshot-fields.js';

export interface UpCloudStoreSnapshot {
  addressCounter: number;
  servers: ServerRecord[];
  storages: StorageRecord[];
}

const UPCLOUD_STATES: readonly UpCloudServerState[] = ['maintenance', 'started', 'stopped', 'error'];
const INTERFACE_TYPES: readonly InterfaceType[] = ['public', 'utility'];
const IP_FAMILIES: readonly IpFamily[] = ['IPv4', 'IPv6'];
const STORAGE_TIERS: readonly StorageTier[] = ['maxiops', 'standard', 'hdd'];

/** Records are plain data already; copies keep the snapshot apart from live state. */
export function serverSnapshot(s: ServerRecord): ServerRecord {
  return {
    ...s,
    labels: s.labels.map((l) => ({ ...l })),
    pending: s.pending.map((p) => ({ ...p })),
    build: s.build === null ? null : { ...s.build },
    interfaces: s.interfaces.map((i) => ({ ...i, addresses: i.addresses.map((a) => ({ ...a })) })),
    storageUuids: [...s.storageUuids],
  };
}

export function storageSnapshot(s: StorageRecord): StorageRecord {
  return { ...s };
}

/** Checks a snapshot in full and turns it into store records; throws SnapshotFormatError. */
export function readUpCloudStoreSnapshot(data: unknown, path: string): UpCloudStoreSnapshot {
  const raw = objectAt(data, path);
  const servers = arrayAt(raw.servers, `${path}.servers`).map((s, i) => readServer(s, `${path}.servers[${i}]`));
  const storages = arrayAt(raw.storages, `${path}.storages`).map((s, i) => readStorage(s, `${path}.storages[${i}]`));
  rejectDuplicates(servers.map((s) => s.uuid), `${path}.servers`);
  rejectDuplicates(storages.map((s) => s.uuid), `${path}.storages`);

  const storageIds = new Set(storages.map((s) => s.uuid));
  const serverIds = new Set(servers.map((s) => s.uuid));
  servers.forEach((server, i) => {
    for (const uuid of server.storageUuids) {
      if (!storageIds.has(uuid)) throw new SnapshotFormatError(`${path}.servers[${i}].storageUuids names storage ${uuid}, which is not in ${path}.storages`);
    }
  });
  storages.forEach((storage, i) => {
    if (storage.serverUuid !== null && !serverIds.has(storage.serverUuid)) {
      throw new SnapshotFormatError(`${path}.storages[${i}].serverUuid names server ${storage.serverUuid}, which is not in ${path}.servers`);
    }
  });
  return { addressCounter: countAt(raw.addressCounter, `${path}.addressCounter`), servers, storages };
}

function readServer(value: unknown, path: string): ServerRecord {
  const raw = objectAt(value, path);
  const zone = stringAt(raw.zone, `${path}.zone`);
  knownAt(findZone(zone), `${path}.zone`, zone);
  const plan = stringAt(raw.plan, `${path}.plan`);
  if (plan !== 'custom') knownAt(findPlan(plan), `${path}.plan`, plan);
  const build = raw.build === null ? null : objectAt(raw.build, `${path}.build`);
  return {
    uuid: stringAt(raw.uuid, `${path}.uuid`),
    title: stringAt(raw.title, `${path}.title`),
    hostname: stringAt(raw.hostname, `${path}.hostname`),
    zone,
    plan,
    coreNumber: countAt(raw.coreNumber, `${path}.coreNumber`),
    memoryAmount: countAt(raw.memoryAmount, `${path}.memoryAmount`),
    labels: arrayAt(raw.labels, `${path}.labels`).map((l, i) => readLabel(l, `${path}.labels[${i}]`)),
    createdAtMs: countAt(raw.createdAtMs, `${path}.createdAtMs`),
    state: oneOfAt(raw.state, `${path}.state`, UPCLOUD_STATES),
    pending: readPending(raw.pending, `${path}.pending`),
    build:
      build === null
        ? null
        : { startedAtMs: countAt(build.startedAtMs, `${path}.build.startedAtMs`), durationMs: countAt(build.durationMs, `${path}.build.durationMs`) },
    metadata: booleanAt(raw.metadata, `${path}.metadata`),
    interfaces: arrayAt(raw.interfaces, `${path}.interfaces`).map((x, i) => readInterface(x, `${path}.interfaces[${i}]`)),
    storageUuids: stringsAt(raw.storageUuids, `${path}.storageUuids`),
    remoteAccessPassword: stringAt(raw.remoteAccessPassword, `${path}.remoteAccessPassword`),
  };
}

function readPending(value: unknown, path: string): ServerTransition[] {
  const pending = arrayAt(value, path).map((p, i) => {
    const raw = objectAt(p, `${path}[${i}]`);
    return { state: oneOfAt(raw.state, `${path}[${i}].state`, UPCLOUD_STATES), atMs: countAt(raw.atMs, `${path}[${i}].atMs`) };
  });
  for (let i = 1; i < pending.length; i++) {
    if ((pending[i] as ServerTransition).atMs < (pending[i - 1] as ServerTransition).atMs) {
      throw new SnapshotFormatError(`${path} must be in time order`);
    }
  }
  return pending;
}

function readLabel(value: unknown, path: string): UpCloudLabel {
  const raw = objectAt(value, path);
  return { key: stringAt(raw.key, `${path}.key`), value: stringAt(raw.value, `${path}.value`) };
}

function readInterface(value: unknown, path: string): InterfaceRecord {
  const raw = objectAt(value, path);
  return {
    index: countAt(raw.index, `${path}.index`),
    type: oneOfAt(raw.type, `${path}.type`, INTERFACE_TYPES),
    mac: stringAt(raw.mac, `${path}.mac`),
    network: stringAt(raw.network, `${path}.network`),
    addresses: arrayAt(raw.addresses, `${path}.addresses`).map((a, i) => {
      const address = objectAt(a, `${path}.addresses[${i}]`);
      return {
        address: stringAt(address.address, `${path}.addresses[${i}].address`),
        family: oneOfAt(address.family, `${path}.addresses[${i}].family`, IP_FAMILIES),
      };
    }),
  };
}

function readStorage(value: unknown, path: string): StorageRecord {
  const raw = objectAt(value, path);
  const zone = stringAt(raw.zone, `${path}.zone`);
  knownAt(findZone(zone), `${path}.zone`, zone);
  const origin = raw.origin === null ? null : stringAt(raw.origin, `${path}.origin`);
  if (origin !== null) knownAt(findTemplate(origin), `${path}.origin`, origin);
  return {
    uuid: stringAt(raw.uuid, `${path}.uuid`),
    title: stringAt(raw.title, `${path}.title`),
    sizeGb: countAt(raw.sizeGb, `${path}.sizeGb`),
    tier: oneOfAt(raw.tier, `${path}.tier`, STORAGE_TIERS),
    zone,
    origin,
    createdAtMs: countAt(raw.createdAtMs, `${path}.createdAtMs`),
    serverUuid: raw.serverUuid === null ? null : stringAt(raw.serverUuid, `${path}.serverUuid`),
  };
}

function rejectDuplicates(ids: readonly string[], path: string): void {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new SnapshotFormatError(`${path} holds ${id} twice`);
    seen.add(id);
  }
}
