/**
 * The Vultr store's part of the sandbox state file: instances and the address counter,
 * as plain JSON.
 *
 * Catalogue entries are stored by id and looked up again on restore, so the file stays
 * small. Times are epoch milliseconds on the sandbox clock; an instance saved while still
 * `pending` (or with a task in progress) keeps its due times, so it comes up when its
 * original delay has passed on the clock. Root passwords are never stored: Vultr shows
 * one only in the create answer.
 */
import { type VultrOs, type VultrPlan, type VultrRegion, findOs, findPlan, findRegion } from './catalogue.js';
import type { InstanceAddresses, InstanceRecord, InstanceTask, PowerStatus } from './store.js';
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

export interface VultrStoreSnapshot {
  addressCounter: number;
  /** In creation order, which is the order the API lists them in. */
  instances: InstanceSnapshot[];
}

export interface InstanceSnapshot {
  id: string;
  label: string;
  hostname: string;
  /** Region id. */
  region: string;
  /** Plan id. */
  plan: string;
  osId: number;
  tags: string[];
  sshKeyIds: string[];
  userData: string;
  enableIpv6: boolean;
  backups: 'enabled' | 'disabled';
  ddosProtection: boolean;
  firewallGroupId: string;
  createdAtMs: number;
  /** null: the instance never leaves `pending`. */
  activeAtMs: number | null;
  readyAtMs: number;
  provisionOutcome: 'active' | 'suspended';
  powerStatus: PowerStatus;
  task: InstanceTask | null;
  addresses: InstanceAddresses;
  kvmToken: string;
}

const POWER_STATUSES: readonly PowerStatus[] = ['running', 'stopped'];
const PROVISION_OUTCOMES: ReadonlyArray<InstanceRecord['provisionOutcome']> = ['active', 'suspended'];
const TASK_KINDS = ['halt', 'start', 'reboot', 'resize'] as const;

export function instanceSnapshot(i: InstanceRecord): InstanceSnapshot {
  return {
    id: i.id,
    label: i.label,
    hostname: i.hostname,
    region: i.region.id,
    plan: i.plan.id,
    osId: i.os.id,
    tags: [...i.tags],
    sshKeyIds: [...i.sshKeyIds],
    userData: i.userData,
    enableIpv6: i.enableIpv6,
    backups: i.backups,
    ddosProtection: i.ddosProtection,
    firewallGroupId: i.firewallGroupId,
    createdAtMs: i.createdAt,
    activeAtMs: i.activeAt,
    readyAtMs: i.readyAt,
    provisionOutcome: i.provisionOutcome,
    powerStatus: i.powerStatus,
    task: i.task === null ? null : { ...i.task },
    addresses: { ...i.addresses },
    kvmToken: i.kvmToken,
  };
}

/** Checks a snapshot in full and turns it into store records; throws SnapshotFormatError. */
export function readVultrStoreSnapshot(
  data: unknown,
  path: string,
): { addressCounter: number; instances: InstanceRecord[] } {
  const raw = objectAt(data, path);
  const instances = arrayAt(raw.instances, `${path}.instances`).map((i, n) => readInstance(i, `${path}.instances[${n}]`));
  const seen = new Set<string>();
  for (const { id } of instances) {
    if (seen.has(id)) throw new SnapshotFormatError(`${path}.instances holds id ${id} twice`);
    seen.add(id);
  }
  return { addressCounter: countAt(raw.addressCounter, `${path}.addressCounter`), instances };
}

function readInstance(value: unknown, path: string): InstanceRecord {
  const raw = objectAt(value, path);
  const regionId = stringAt(raw.region, `${path}.region`);
  const planId = stringAt(raw.plan, `${path}.plan`);
  const osId = countAt(raw.osId, `${path}.osId`);
  const addresses = objectAt(raw.addresses, `${path}.addresses`);
  const address = (field: keyof InstanceAddresses): string => stringAt(addresses[field], `${path}.addresses.${field}`);
  const createdAt = countAt(raw.createdAtMs, `${path}.createdAtMs`);
  const activeAt = raw.activeAtMs === null ? null : countAt(raw.activeAtMs, `${path}.activeAtMs`);
  const readyAt = countAt(raw.readyAtMs, `${path}.readyAtMs`);
  if (activeAt !== null && (activeAt < createdAt || readyAt < activeAt)) {
    throw new SnapshotFormatError(`${path} must have createdAtMs <= activeAtMs <= readyAtMs`);
  }
  return {
    id: stringAt(raw.id, `${path}.id`),
    label: stringAt(raw.label, `${path}.label`),
    hostname: stringAt(raw.hostname, `${path}.hostname`),
    region: knownAt<VultrRegion>(findRegion(regionId), `${path}.region`, regionId),
    plan: knownAt<VultrPlan>(findPlan(planId), `${path}.plan`, planId),
    os: knownAt<VultrOs>(findOs(osId), `${path}.osId`, osId),
    tags: stringsAt(raw.tags, `${path}.tags`),
    sshKeyIds: stringsAt(raw.sshKeyIds, `${path}.sshKeyIds`),
    userData: stringAt(raw.userData, `${path}.userData`),
    enableIpv6: booleanAt(raw.enableIpv6, `${path}.enableIpv6`),
    backups: oneOfAt(raw.backups, `${path}.backups`, ['enabled', 'disabled'] as const),
    ddosProtection: booleanAt(raw.ddosProtection, `${path}.ddosProtection`),
    firewallGroupId: stringAt(raw.firewallGroupId, `${path}.firewallGroupId`),
    createdAt,
    activeAt,
    readyAt,
    provisionOutcome: oneOfAt(raw.provisionOutcome, `${path}.provisionOutcome`, PROVISION_OUTCOMES),
    powerStatus: oneOfAt(raw.powerStatus, `${path}.powerStatus`, POWER_STATUSES),
    task: raw.task === null ? null : readTask(raw.task, `${path}.task`),
    addresses: {
      mainIp: address('mainIp'),
      netmaskV4: address('netmaskV4'),
      gatewayV4: address('gatewayV4'),
      v6Network: address('v6Network'),
      v6MainIp: address('v6MainIp'),
    },
    kvmToken: stringAt(raw.kvmToken, `${path}.kvmToken`),
  };
}

function readTask(value: unknown, path: string): InstanceTask {
  const raw = objectAt(value, path);
  const kind = oneOfAt(raw.kind, `${path}.kind`, TASK_KINDS);
  const completesAt = raw.completesAt === null ? null : countAt(raw.completesAt, `${path}.completesAt`);
  if (kind !== 'resize') return { kind, completesAt };
  const plan = stringAt(raw.plan, `${path}.plan`);
  knownAt(findPlan(plan), `${path}.plan`, plan);
  return { kind, plan, completesAt };
}
