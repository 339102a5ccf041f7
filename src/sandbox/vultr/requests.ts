/**
 * Checks the bodies of Vultr's create (`POST /instances`) and update (`PATCH /instances/{id}`)
 * requests against PROVIDERS.md §3.3/§3.6 and the catalogue, and turns them into plain
 * values for the store. Every failure is a Vultr-shaped 400.
 *
 * Where the real API's wording is on record it is used ("Invalid plan chosen.", and the
 * bare "Bad request." Vultr gives for a create without a region); elsewhere the message
 * names the field so a reader can tell what was wrong.
 */
import { type VultrOs, type VultrPlan, type VultrRegion, findOs, findPlan, findRegion } from './catalogue.js';
import { badRequest } from './errors.js';

export interface CreateInstanceRequest {
  region: VultrRegion;
  plan: VultrPlan;
  os: VultrOs;
  label: string;
  hostname: string;
  tags: string[];
  sshKeyIds: string[];
  /** Base64 exactly as sent; '' when none. */
  userData: string;
  enableIpv6: boolean;
  backups: 'enabled' | 'disabled';
  ddosProtection: boolean;
  firewallGroupId: string;
}

export interface UpdateInstanceRequest {
  plan?: VultrPlan;
  label?: string;
  tags?: string[];
  userData?: string;
  firewallGroupId?: string;
}

/** The boot sources of §3.3, exactly one of which a create must name. */
const BOOT_SOURCES = ['os_id', 'iso_id', 'snapshot_id', 'app_id', 'image_id'] as const;

const HOSTNAME = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const DEFAULT_HOSTNAME = 'vultr.guest';
const MAX_LABEL_CHARS = 255;
const MAX_TAG_CHARS = 255;
/** Vultr's limit on user data, measured after base64 decoding. */
const MAX_USER_DATA_BYTES = 64 * 1024;

export function parseCreateRequest(body: unknown): CreateInstanceRequest {
  if (!isPlainObject(body)) throw badRequest('Bad request.');

  // Vultr answers a create without a region with no further detail.
  if (isMissing(body.region)) throw badRequest('Bad request.');
  if (typeof body.region !== 'string') throw badRequest('Invalid region chosen.');
  const region = findRegion(body.region);
  if (region === undefined) throw badRequest('Invalid region chosen.');

  if (isMissing(body.plan) || typeof body.plan !== 'string') throw badRequest('Invalid plan chosen.');
  const plan = findPlan(body.plan);
  if (plan === undefined) throw badRequest('Invalid plan chosen.');
  if (!plan.locations.includes(region.id)) throw badRequest('Plan is not available in the selected region.');

  const os = checkBootSource(body);
  const label = optionalString(body.label, 'label') ?? '';
  if (label.length > MAX_LABEL_CHARS) throw badRequest(`Invalid label: at most ${MAX_LABEL_CHARS} characters.`);
  const hostname = checkHostname(body.hostname, label);

  const tags = checkTags(body.tags, 'tags');
  // `tag` (singular) is deprecated but still honoured.
  const legacyTag = optionalString(body.tag, 'tag');
  if (legacyTag !== undefined && legacyTag !== '' && !tags.includes(legacyTag)) tags.push(legacyTag);

  const sshKeyIds = checkStringList(body.sshkey_id, 'sshkey_id');
  const userData = checkUserData(body.user_data);

  const enableIpv6 = optionalBoolean(body.enable_ipv6, 'enable_ipv6') ?? false;
  const ddosProtection = optionalBoolean(body.ddos_protection, 'ddos_protection') ?? false;
  let backups: CreateInstanceRequest['backups'] = 'disabled';
  if (body.backups !== undefined && body.backups !== null) {
    if (body.backups !== 'enabled' && body.backups !== 'disabled') {
      throw badRequest('Invalid backups value: must be "enabled" or "disabled".');
    }
    backups = body.backups;
  }
  const firewallGroupId = optionalString(body.firewall_group_id, 'firewall_group_id') ?? '';

  return { region, plan, os, label, hostname, tags, sshKeyIds, userData, enableIpv6, backups, ddosProtection, firewallGroupId };
}

/** Only what is present is checked; the plan's fit for the instance is the store's call. */
export function parseUpdateRequest(body: unknown): UpdateInstanceRequest {
  if (!isPlainObject(body)) throw badRequest('Bad request.');
  const update: UpdateInstanceRequest = {};
  if (body.plan !== undefined && body.plan !== null) {
    const plan = typeof body.plan === 'string' ? findPlan(body.plan) : undefined;
    if (plan === undefined) throw badRequest('Invalid plan chosen.');
    update.plan = plan;
  }
  const label = optionalString(body.label, 'label');
  if (label !== undefined) {
    if (label.length > MAX_LABEL_CHARS) throw badRequest(`Invalid label: at most ${MAX_LABEL_CHARS} characters.`);
    update.label = label;
  }
  if (body.tags !== undefined && body.tags !== null) update.tags = checkTags(body.tags, 'tags');
  if (body.user_data !== undefined && body.user_data !== null) update.userData = checkUserData(body.user_data);
  const firewallGroupId = optionalString(body.firewall_group_id, 'firewall_group_id');
  if (firewallGroupId !== undefined) update.firewallGroupId = firewallGroupId;
  return update;
}

/** The instance ids of a bulk power request (`{"instance_ids":[…]}`). */
export function parseInstanceIds(body: unknown): string[] {
  if (!isPlainObject(body)) throw badRequest('Bad request.');
  const ids = body.instance_ids;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string' && id !== '')) {
    throw badRequest('Invalid instance_ids: a non-empty list of instance ids is required.');
  }
  return [...new Set(ids as string[])];
}

/**
 * Exactly one boot source. The simulated account owns no ISOs, snapshots or marketplace
 * apps, so only an `os_id` from the catalogue can succeed.
 */
function checkBootSource(body: Record<string, unknown>): VultrOs {
  const given = BOOT_SOURCES.filter((field) => !isMissing(body[field]) && body[field] !== 0 && body[field] !== '0');
  if (given.length !== 1) {
    throw badRequest(`Invalid boot source: exactly one of ${BOOT_SOURCES.join(', ')} is required.`);
  }
  const field = given[0] as (typeof BOOT_SOURCES)[number];
  if (field !== 'os_id') throw badRequest(`Invalid ${field}.`);
  const osId = integerOrIntegerString(body.os_id);
  const os = osId === undefined ? undefined : findOs(osId);
  if (os === undefined) throw badRequest('Invalid os_id.');
  return os;
}

/**
 * Vultr takes `os_id` as the integer its docs declare and also as an integer string
 * ("1743"), which is the type the official Node client declares and sends; any other
 * string is refused like an unknown id.
 */
function integerOrIntegerString(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'string' && /^[0-9]{1,15}$/.test(value)) return Number(value);
  return undefined;
}

function checkHostname(value: unknown, label: string): string {
  const hostname = optionalString(value, 'hostname');
  if (hostname === undefined || hostname === '') return HOSTNAME.test(label) ? label : DEFAULT_HOSTNAME;
  if (!HOSTNAME.test(hostname)) throw badRequest('Invalid hostname.');
  return hostname;
}

function checkTags(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest(`Invalid ${field}: must be a list of strings.`);
  const tags: string[] = [];
  for (const tag of value) {
    if (typeof tag !== 'string' || tag === '' || tag.length > MAX_TAG_CHARS) {
      throw badRequest(`Invalid ${field}: each tag must be a string of 1 to ${MAX_TAG_CHARS} characters.`);
    }
    if (!tags.includes(tag)) tags.push(tag);
  }
  return tags;
}

/** §3.3: user data travels base64-encoded; anything else is refused rather than guessed at. */
function checkUserData(value: unknown): string {
  if (value === undefined || value === null || value === '') return '';
  if (typeof value !== 'string' || !isBase64(value)) throw badRequest('Invalid user_data: must be base64 encoded.');
  if (Buffer.from(value, 'base64').length > MAX_USER_DATA_BYTES) {
    throw badRequest('Invalid user_data: at most 64 KiB once decoded.');
  }
  return value;
}

function isBase64(value: string): boolean {
  return value.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(value);
}

function checkStringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw badRequest(`Invalid ${field}: must be a list of strings.`);
  }
  return [...value];
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`Invalid ${field}: must be a string.`);
  return value;
}

function optionalBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw badRequest(`Invalid ${field}: must be true or false.`);
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isMissing(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}
