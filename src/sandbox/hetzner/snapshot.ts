/**
 * The Hetzner store's part of the sandbox state file: servers, actions and the counters
 * that keep ids and addresses unique across restarts, as plain JSON.
 *
 * Catalogue entries are stored by name (server type, location) or id (image) and looked up
 * again on restore, so the file stays small. Times are epoch milliseconds on the sandbox
 * clock; an action still running keeps its finish time, so a server saved as `initializing`
 * carries on to `running` when its original delays have passed on the clock.
 */
import { SERVER_ACTION_EFFECT_KINDS, type ServerActionEffect } from './action-effects.js';
import {
  type HetznerImage,
  type HetznerLocation,
  type HetznerServerType,
  findImage,
  findLocation,
  findServerType,
} from './catalogue.js';
import { labelKeyProblem, labelValueProblem } from './labels.js';
import {
  type ActionOutcome,
  HETZNER_SERVER_STATUSES,
  type HetznerActionRecord,
  type HetznerServerRecord,
  type HetznerServerStatus,
  type PublicAddress,
} from './store.js';
import {
  SnapshotFormatError,
  arrayAt,
  booleanAt,
  countAt,
  knownAt,
  objectAt,
  oneOfAt,
  stringAt,
} from '../snapshot-fields.js';

export interface HetznerStoreSnapshot {
  nextServerId: number;
  nextActionId: number;
  nextIpId: number;
  addressCounter: number;
  servers: HetznerServerSnapshot[];
  actions: HetznerActionSnapshot[];
}

export interface HetznerServerSnapshot {
  id: number;
  name: string;
  status: HetznerServerStatus;
  /** Server type name. */
  serverType: string;
  primaryDiskGb: number;
  /** Image id. */
  image: number;
  /** Location name. */
  location: string;
  labels: Record<string, string>;
  createdAtMs: number;
  ipv4: PublicAddress | null;
  ipv6: PublicAddress | null;
}

export interface HetznerActionSnapshot {
  id: number;
  command: string;
  serverId: number;
  startedAtMs: number;
  runsFromMs: number;
  completesAtMs: number;
  outcome: ActionOutcome;
  error: { code: string; message: string } | null;
  settled: boolean;
  effect: ServerActionEffect | null;
  revertTo: HetznerServerStatus | null;
}

/** What a snapshot restores to: records ready to put into the store's maps. */
export interface RestoredHetznerStore {
  nextServerId: number;
  nextActionId: number;
  nextIpId: number;
  addressCounter: number;
  servers: HetznerServerRecord[];
  actions: HetznerActionRecord[];
}

const OUTCOMES: readonly ActionOutcome[] = ['success', 'error'];

export function serverSnapshot(s: HetznerServerRecord): HetznerServerSnapshot {
  return {
    id: s.id,
    name: s.name,
    status: s.status,
    serverType: s.serverType.name,
    primaryDiskGb: s.primaryDiskGb,
    image: s.image.id,
    location: s.location.name,
    labels: { ...s.labels },
    createdAtMs: s.createdAt,
    ipv4: s.addresses.ipv4 === null ? null : { ...s.addresses.ipv4 },
    ipv6: s.addresses.ipv6 === null ? null : { ...s.addresses.ipv6 },
  };
}

export function actionSnapshot(a: HetznerActionRecord): HetznerActionSnapshot {
  return {
    id: a.id,
    command: a.command,
    serverId: a.serverId,
    startedAtMs: a.startedAt,
    runsFromMs: a.runsFrom,
    completesAtMs: a.completesAt,
    outcome: a.outcome,
    error: a.error === null ? null : { ...a.error },
    settled: a.settled,
    effect: a.effect === null ? null : { ...a.effect },
    revertTo: a.revertTo,
  };
}

/** Checks a snapshot in full and turns it into store records; throws SnapshotFormatError. */
export function readHetznerStoreSnapshot(data: unknown, path: string): RestoredHetznerStore {
  const raw = objectAt(data, path);
  const servers = arrayAt(raw.servers, `${path}.servers`).map((s, i) => readServer(s, `${path}.servers[${i}]`));
  const actions = arrayAt(raw.actions, `${path}.actions`).map((a, i) => readAction(a, `${path}.actions[${i}]`));
  rejectDuplicates(servers.map((s) => s.id), `${path}.servers`, 'id');
  rejectDuplicates(servers.map((s) => s.name), `${path}.servers`, 'name');
  rejectDuplicates(actions.map((a) => a.id), `${path}.actions`, 'id');

  // Counters below an id already in use would hand that id out twice. A reduce rather
  // than Math.max(...ids): a long action history would overflow the call stack.
  const highest = (ids: number[]): number => ids.reduce((max, id) => Math.max(max, id), 0);
  const ipIds = servers.flatMap((s) => [s.addresses.ipv4?.id ?? 0, s.addresses.ipv6?.id ?? 0]);
  return {
    nextServerId: Math.max(
      countAt(raw.nextServerId, `${path}.nextServerId`),
      highest([...servers.map((s) => s.id), ...actions.map((a) => a.serverId)]) + 1,
    ),
    nextActionId: Math.max(countAt(raw.nextActionId, `${path}.nextActionId`), highest(actions.map((a) => a.id)) + 1),
    nextIpId: Math.max(countAt(raw.nextIpId, `${path}.nextIpId`), highest(ipIds) + 1),
    addressCounter: countAt(raw.addressCounter, `${path}.addressCounter`),
    servers,
    actions,
  };
}

function readServer(value: unknown, path: string): HetznerServerRecord {
  const raw = objectAt(value, path);
  const typeName = stringAt(raw.serverType, `${path}.serverType`);
  const imageId = countAt(raw.image, `${path}.image`);
  const locationName = stringAt(raw.location, `${path}.location`);
  return {
    id: countAt(raw.id, `${path}.id`),
    name: stringAt(raw.name, `${path}.name`),
    status: oneOfAt(raw.status, `${path}.status`, HETZNER_SERVER_STATUSES),
    serverType: knownAt<HetznerServerType>(findServerType(typeName), `${path}.serverType`, typeName),
    primaryDiskGb: countAt(raw.primaryDiskGb, `${path}.primaryDiskGb`),
    image: knownAt<HetznerImage>(findImage(imageId), `${path}.image`, imageId),
    location: knownAt<HetznerLocation>(findLocation(locationName), `${path}.location`, locationName),
    labels: readLabels(raw.labels, `${path}.labels`),
    createdAt: countAt(raw.createdAtMs, `${path}.createdAtMs`),
    addresses: {
      ipv4: readAddress(raw.ipv4, `${path}.ipv4`),
      ipv6: readAddress(raw.ipv6, `${path}.ipv6`),
    },
  };
}

function readAction(value: unknown, path: string): HetznerActionRecord {
  const raw = objectAt(value, path);
  const startedAt = countAt(raw.startedAtMs, `${path}.startedAtMs`);
  const runsFrom = countAt(raw.runsFromMs, `${path}.runsFromMs`);
  const completesAt = countAt(raw.completesAtMs, `${path}.completesAtMs`);
  if (completesAt < startedAt) {
    throw new SnapshotFormatError(`${path}.completesAtMs must not be before ${path}.startedAtMs`);
  }
  let error: HetznerActionRecord['error'] = null;
  if (raw.error !== null) {
    const e = objectAt(raw.error, `${path}.error`);
    error = { code: stringAt(e.code, `${path}.error.code`), message: stringAt(e.message, `${path}.error.message`) };
  }
  return {
    id: countAt(raw.id, `${path}.id`),
    command: stringAt(raw.command, `${path}.command`),
    serverId: countAt(raw.serverId, `${path}.serverId`),
    startedAt,
    runsFrom,
    completesAt,
    outcome: oneOfAt(raw.outcome, `${path}.outcome`, OUTCOMES),
    error,
    settled: booleanAt(raw.settled, `${path}.settled`),
    effect: raw.effect === null ? null : readEffect(raw.effect, `${path}.effect`),
    revertTo: raw.revertTo === null ? null : oneOfAt(raw.revertTo, `${path}.revertTo`, HETZNER_SERVER_STATUSES),
  };
}

function readEffect(value: unknown, path: string): ServerActionEffect {
  const raw = objectAt(value, path);
  const kind = oneOfAt(raw.kind, `${path}.kind`, SERVER_ACTION_EFFECT_KINDS);
  switch (kind) {
    case 'set_status':
      return { kind, status: oneOfAt(raw.status, `${path}.status`, HETZNER_SERVER_STATUSES) };
    case 'change_type': {
      const serverType = stringAt(raw.serverType, `${path}.serverType`);
      knownAt(findServerType(serverType), `${path}.serverType`, serverType);
      return { kind, serverType, upgradeDisk: booleanAt(raw.upgradeDisk, `${path}.upgradeDisk`) };
    }
    case 'remove':
      return { kind };
  }
}

function readAddress(value: unknown, path: string): PublicAddress | null {
  if (value === null) return null;
  const raw = objectAt(value, path);
  return { id: countAt(raw.id, `${path}.id`), ip: stringAt(raw.ip, `${path}.ip`) };
}

function readLabels(value: unknown, path: string): Record<string, string> {
  const raw = objectAt(value, path);
  const labels: Record<string, string> = {};
  for (const [key, v] of Object.entries(raw)) {
    const text = stringAt(v, `${path}.${key}`);
    const problem = labelKeyProblem(key) ?? labelValueProblem(text);
    if (problem !== undefined) throw new SnapshotFormatError(`${path}: ${problem}`);
    labels[key] = text;
  }
  return labels;
}

function rejectDuplicates(values: ReadonlyArray<number | string>, path: string, field: string): void {
  const seen = new Set<number | string>();
  for (const value of values) {
    if (seen.has(value)) throw new SnapshotFormatError(`${path} holds ${field} ${JSON.stringify(value)} twice`);
    seen.add(value);
  }
}
