/**
 * Checks a `POST /1.3/server` body (PROVIDERS.md §4.3) and turns it into what the store
 * needs. Every refusal is an UpCloudApiError with the code UpCloud uses for that field, so
 * a client sees the same 400/404 it would get from the real API.
 *
 * UpCloud sends many numbers as strings and booleans as "yes"/"no"; both spellings of a
 * number are accepted here, as the real API does.
 */
import {
  type UpCloudPlan,
  type UpCloudTemplate,
  type UpCloudZone,
  findPlan,
  findTemplate,
  findZone,
} from './catalogue.js';
import { UpCloudApiError, badRequest, storageNotFound } from './errors.js';
import { type UpCloudLabel, parseLabels } from './labels.js';

export type StorageTier = 'maxiops' | 'standard' | 'hdd';
export type InterfaceType = 'public' | 'utility';
export type IpFamily = 'IPv4' | 'IPv6';

export type StorageDeviceRequest =
  | { action: 'clone'; template: UpCloudTemplate; title: string | null; size: number | null; tier: StorageTier }
  | { action: 'create'; title: string; size: number; tier: StorageTier }
  | { action: 'attach'; storageUuid: string };

export interface InterfaceRequest {
  type: InterfaceType;
  families: IpFamily[];
}

export interface CreateServerRequest {
  zone: UpCloudZone;
  title: string;
  hostname: string;
  /** null for a custom server sized by core_number and memory_amount. */
  plan: UpCloudPlan | null;
  coreNumber: number;
  memoryAmount: number;
  metadata: boolean;
  userData: string | null;
  labels: UpCloudLabel[];
  username: string;
  createPassword: boolean;
  sshKeys: string[];
  interfaces: InterfaceRequest[];
  storageDevices: StorageDeviceRequest[];
  /** The console password asked for (1.2's `vnc_password`); absent: one is made up. */
  remoteAccessPassword?: string;
}

const HOSTNAME = /^(?=.{1,128}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const USERNAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const MAX_TITLE = 255;
const MAX_STORAGE_TITLE = 64;
const MIN_STORAGE_GB = 10;
const MAX_STORAGE_GB = 4096;
const MAX_CORES = 20;
const MAX_MEMORY_MB = 131_072;
const STORAGE_TIERS: readonly StorageTier[] = ['maxiops', 'standard', 'hdd'];

/** What a server gets when the request names no networking: UpCloud's usual public + utility set. */
export const DEFAULT_INTERFACES: readonly InterfaceRequest[] = [
  { type: 'public', families: ['IPv4'] },
  { type: 'utility', families: ['IPv4'] },
  { type: 'public', families: ['IPv6'] },
];

export function parseCreateServerRequest(body: unknown): CreateServerRequest {
  if (!isObject(body) || !isObject(body.server)) {
    throw badRequest('REQUEST_INVALID', 'The request body must be a JSON object with a "server" object.');
  }
  const server = body.server;

  const zone = checkZone(server.zone);
  const title = requiredString(server.title, 'SERVER_TITLE_MISSING', 'SERVER_TITLE_INVALID', 'title', MAX_TITLE);
  const hostname = requiredString(server.hostname, 'HOSTNAME_MISSING', 'HOSTNAME_INVALID', 'hostname', 128);
  if (!HOSTNAME.test(hostname)) {
    throw badRequest('HOSTNAME_INVALID', `The hostname ${JSON.stringify(hostname)} is not a valid hostname.`, 'hostname');
  }
  const sizing = checkSizing(server);
  const storageDevices = checkStorageDevices(server.storage_devices);
  const metadata = yesNo(server.metadata, 'metadata', false);
  const clonedTemplate = storageDevices.find((d) => d.action === 'clone');
  if (clonedTemplate?.action === 'clone' && clonedTemplate.template.templateType === 'cloud-init' && !metadata) {
    throw badRequest(
      'METADATA_DISABLED_ON_CLOUD-INIT',
      `The template ${clonedTemplate.template.uuid} uses cloud-init, which needs the metadata service: set metadata to "yes".`,
      'metadata',
    );
  }
  const userData = server.user_data;
  if (userData !== undefined && userData !== null && typeof userData !== 'string') {
    throw badRequest('USER_DATA_INVALID', 'user_data must be a script or a URL, as a string.', 'user_data');
  }
  const login = checkLoginUser(server.login_user);
  checkPasswordDelivery(server.password_delivery);
  const remoteAccessPassword = server.remote_access_password;
  if (remoteAccessPassword !== undefined && remoteAccessPassword !== null && (typeof remoteAccessPassword !== 'string' || !/^\S{1,64}$/.test(remoteAccessPassword))) {
    throw badRequest('REMOTE_ACCESS_PASSWORD_INVALID', 'remote_access_password must be 1 to 64 characters without spaces.', 'remote_access_password');
  }

  return {
    zone,
    title,
    hostname,
    ...sizing,
    metadata,
    userData: typeof userData === 'string' && userData !== '' ? userData : null,
    labels: parseLabels(server.labels),
    ...login,
    interfaces: checkNetworking(server.networking),
    storageDevices,
    ...(typeof remoteAccessPassword === 'string' ? { remoteAccessPassword } : {}),
  };
}

/** A positive integer sent as a number or a digit string, as UpCloud writes them. */
export function integerField(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^\d{1,9}$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

export function checkPlanName(value: unknown): UpCloudPlan {
  if (typeof value !== 'string' || value === '') throw badRequest('PLAN_INVALID', 'plan must be a plan name.', 'plan');
  const plan = findPlan(value);
  // The client's list of error codes has none for an unknown plan; PLAN_INVALID follows UpCloud's naming.
  if (plan === undefined) throw badRequest('PLAN_INVALID', `The plan ${value} does not exist.`, 'plan');
  return plan;
}

function checkZone(value: unknown): UpCloudZone {
  if (value === undefined || value === null || value === '') throw badRequest('ZONE_MISSING', 'The zone is missing.', 'zone');
  if (typeof value !== 'string') throw badRequest('ZONE_INVALID', 'The zone must be a zone id such as fi-hel1.', 'zone');
  const zone = findZone(value);
  if (zone === undefined) throw new UpCloudApiError(404, 'ZONE_NOT_FOUND', `The zone ${value} does not exist.`);
  return zone;
}

function checkSizing(server: Record<string, unknown>): { plan: UpCloudPlan | null; coreNumber: number; memoryAmount: number } {
  const cores = server.core_number === undefined ? undefined : integerField(server.core_number);
  const memory = server.memory_amount === undefined ? undefined : integerField(server.memory_amount);
  if (server.core_number !== undefined && (cores === undefined || cores < 1 || cores > MAX_CORES)) {
    throw badRequest('CORE_NUMBER_INVALID', `core_number must be between 1 and ${MAX_CORES}.`, 'core_number');
  }
  if (server.memory_amount !== undefined && (memory === undefined || memory < 512 || memory > MAX_MEMORY_MB || memory % 256 !== 0)) {
    throw badRequest('MEMORY_AMOUNT_INVALID', `memory_amount must be a multiple of 256 between 512 and ${MAX_MEMORY_MB} (MiB).`, 'memory_amount');
  }

  if (server.plan !== undefined && server.plan !== null && server.plan !== 'custom') {
    const plan = checkPlanName(server.plan);
    // Sizes given next to a plan must agree with it.
    if (cores !== undefined && cores !== plan.coreNumber) {
      throw badRequest('PLAN_CORE_NUMBER_ILLEGAL', `The plan ${plan.name} has ${plan.coreNumber} cores; core_number cannot differ.`, 'core_number');
    }
    if (memory !== undefined && memory !== plan.memoryAmount) {
      throw badRequest('PLAN_MEMORY_AMOUNT_ILLEGAL', `The plan ${plan.name} has ${plan.memoryAmount} MiB; memory_amount cannot differ.`, 'memory_amount');
    }
    return { plan, coreNumber: plan.coreNumber, memoryAmount: plan.memoryAmount };
  }
  if (cores === undefined) {
    throw badRequest('CORE_NUMBER_INVALID', 'Give a plan, or core_number and memory_amount for a custom server.', 'core_number');
  }
  if (memory === undefined) {
    throw badRequest('MEMORY_AMOUNT_INVALID', 'Give a plan, or core_number and memory_amount for a custom server.', 'memory_amount');
  }
  return { plan: null, coreNumber: cores, memoryAmount: memory };
}

function checkStorageDevices(value: unknown): StorageDeviceRequest[] {
  if (value === undefined || value === null) {
    throw badRequest('STORAGE_DEVICES_MISSING', 'A server needs at least one storage device.', 'storage_devices');
  }
  const list = isObject(value) ? value.storage_device : undefined;
  if (!Array.isArray(list)) {
    throw badRequest('STORAGE_DEVICES_INVALID', 'storage_devices must hold a "storage_device" list.', 'storage_devices');
  }
  if (list.length === 0) throw badRequest('STORAGE_DEVICES_MISSING', 'A server needs at least one storage device.', 'storage_devices');
  const devices = list.map((item, i) => checkStorageDevice(item, `storage_devices.storage_device[${i}]`));
  if (devices.filter((d) => d.action === 'clone').length > 1) {
    throw badRequest('MULTIPLE_TEMPLATES', 'Only one template can be cloned per server.', 'storage_devices');
  }
  return devices;
}

function checkStorageDevice(value: unknown, field: string): StorageDeviceRequest {
  if (!isObject(value)) throw badRequest('STORAGE_DEVICE_INVALID', `${field} must be an object.`, field);
  const action = value.action;
  if (action === undefined || action === null || action === '') throw badRequest('ACTION_MISSING', `${field}.action is missing.`, field);
  if (action !== 'clone' && action !== 'create' && action !== 'attach') {
    throw badRequest('ACTION_INVALID', `${field}.action must be clone, create or attach.`, field);
  }
  const storage = value.storage;
  if (action === 'attach' || action === 'clone') {
    if (storage === undefined || storage === null || storage === '') throw badRequest('STORAGE_MISSING', `${field}.storage is missing.`, field);
    if (typeof storage !== 'string') throw badRequest('STORAGE_INVALID', `${field}.storage must be a storage UUID.`, field);
  }
  if (action === 'attach') return { action, storageUuid: storage as string };

  const tier = value.tier ?? 'maxiops';
  if (!STORAGE_TIERS.includes(tier as StorageTier)) throw badRequest('TIER_INVALID', `${field}.tier must be maxiops, standard or hdd.`, field);
  const title = value.title;
  if (title !== undefined && (typeof title !== 'string' || title === '' || title.length > MAX_STORAGE_TITLE)) {
    throw badRequest('STORAGE_TITLE_INVALID', `${field}.title must be 1-${MAX_STORAGE_TITLE} characters.`, field);
  }
  const size = value.size === undefined ? undefined : integerField(value.size);
  if (value.size !== undefined && (size === undefined || size < MIN_STORAGE_GB || size > MAX_STORAGE_GB)) {
    throw badRequest('SIZE_INVALID', `${field}.size must be between ${MIN_STORAGE_GB} and ${MAX_STORAGE_GB} (GB).`, field);
  }

  if (action === 'create') {
    if (title === undefined) throw badRequest('STORAGE_TITLE_MISSING', `${field}.title is missing.`, field);
    if (size === undefined) throw badRequest('SIZE_MISSING', `${field}.size is missing.`, field);
    return { action, title: title as string, size, tier: tier as StorageTier };
  }
  // Only public templates can be cloned here; the simulated account has no private storages to clone.
  const template = findTemplate(storage as string);
  if (template === undefined) throw storageNotFound(storage as string);
  if (size !== undefined && size < template.size) {
    throw badRequest('SIZE_INVALID', `${field}.size must be at least the template's ${template.size} GB.`, field);
  }
  return { action, template, title: (title as string | undefined) ?? null, size: size ?? null, tier: tier as StorageTier };
}

function checkLoginUser(value: unknown): { username: string; createPassword: boolean; sshKeys: string[] } {
  if (value === undefined || value === null) return { username: 'root', createPassword: true, sshKeys: [] };
  if (!isObject(value)) throw badRequest('REQUEST_INVALID', 'login_user must be an object.', 'login_user');
  const username = value.username ?? 'root';
  if (typeof username !== 'string' || !USERNAME.test(username)) {
    throw badRequest('INVALID_USERNAME', `The username ${JSON.stringify(username)} is invalid.`, 'login_user.username');
  }
  const createPassword = yesNo(value.create_password, 'login_user.create_password', true, 'CREATE_PASSWORD_INVALID');
  let sshKeys: string[] = [];
  if (value.ssh_keys !== undefined && value.ssh_keys !== null) {
    const keys = isObject(value.ssh_keys) ? value.ssh_keys.ssh_key : undefined;
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' && k.trim() !== '')) {
      throw badRequest('REQUEST_INVALID', 'login_user.ssh_keys must hold an "ssh_key" list of public keys.', 'login_user.ssh_keys');
    }
    sshKeys = [...(keys as string[])];
  }
  return { username, createPassword, sshKeys };
}

function checkPasswordDelivery(value: unknown): void {
  if (value === undefined || value === null) return;
  if (value !== 'none' && value !== 'email' && value !== 'sms') {
    throw badRequest('PASSWORD_DELIVERY_INVALID', 'password_delivery must be none, email or sms.', 'password_delivery');
  }
}

function checkNetworking(value: unknown): InterfaceRequest[] {
  if (value === undefined || value === null) return DEFAULT_INTERFACES.map((i) => ({ ...i, families: [...i.families] }));
  const interfaces = isObject(value) && isObject(value.interfaces) ? value.interfaces.interface : undefined;
  if (!Array.isArray(interfaces)) {
    throw badRequest('REQUEST_INVALID', 'networking must hold interfaces.interface, a list of interfaces.', 'networking');
  }
  return interfaces.map((item, i) => {
    const field = `networking.interfaces.interface[${i}]`;
    if (!isObject(item)) throw badRequest('REQUEST_INVALID', `${field} must be an object.`, field);
    if (item.type === 'private') {
      // Private interfaces attach to an SDN network; the simulated account has none.
      throw new UpCloudApiError(404, 'NETWORK_NOT_FOUND', `${field}: the network ${String(item.network)} does not exist.`);
    }
    if (item.type !== 'public' && item.type !== 'utility') {
      throw badRequest('NETWORK_TYPE_INVALID', `${field}.type must be public, utility or private.`, field);
    }
    const addresses = isObject(item.ip_addresses) ? item.ip_addresses.ip_address : undefined;
    if (!Array.isArray(addresses) || addresses.length === 0) {
      throw badRequest('IP_ADDRESS_INVALID', `${field} needs ip_addresses.ip_address with at least one family.`, field);
    }
    const families = addresses.map((a) => (isObject(a) ? a.family : undefined));
    for (const family of families) {
      if (family !== 'IPv4' && family !== 'IPv6') throw badRequest('IP_ADDRESS_INVALID', `${field}: family must be IPv4 or IPv6.`, field);
      if (item.type === 'utility' && family === 'IPv6') {
        throw badRequest('IP_ADDRESS_INVALID', `${field}: utility interfaces carry IPv4 only.`, field);
      }
    }
    return { type: item.type, families: families as IpFamily[] };
  });
}

function requiredString(value: unknown, missingCode: string, invalidCode: string, field: string, maxLength: number): string {
  if (value === undefined || value === null || value === '') throw badRequest(missingCode, `The ${field} is missing.`, field);
  if (typeof value !== 'string' || value.length > maxLength) {
    throw badRequest(invalidCode, `The ${field} must be a string of at most ${maxLength} characters.`, field);
  }
  return value;
}

function yesNo(value: unknown, field: string, fallback: boolean, code = 'REQUEST_INVALID'): boolean {
  if (value === undefined || value === null) return fallback;
  if (value === 'yes') return true;
  if (value === 'no') return false;
  throw badRequest(code, `${field} must be "yes" or "no".`, field);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
