/**
 * Checks a `POST /servers` body the way Hetzner does (PROVIDERS.md §2.3) and resolves its
 * catalogue references. Every problem found is reported at once, as one `invalid_input`
 * whose `details.fields` names each bad field.
 */
import {
  type HetznerImage,
  type HetznerLocation,
  type HetznerServerType,
  HETZNER_LOCATIONS,
  findImage,
  findLocation,
  findServerType,
  isOfferedIn,
} from './catalogue.js';
import { type FieldError, HetznerApiError, invalidInput } from './errors.js';
import { type Labels, parseLabels } from './labels.js';

export interface CreateServerRequest {
  name: string;
  serverType: HetznerServerType;
  image: HetznerImage;
  location: HetznerLocation;
  labels: Labels;
  startAfterCreate: boolean;
  /** No `ssh_keys` given: Hetzner generates a root password and returns it once. */
  generateRootPassword: boolean;
  ipv4: boolean;
  ipv6: boolean;
}

/** RFC 1123 hostname: dot-separated labels of letters, digits and dashes. */
const HOSTNAME_LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const MAX_NAME = 253;
const MAX_USER_DATA_BYTES = 32 * 1024;
/** Datacenter names are `<location>-dc<N>`; the field is being retired in favour of `location`. */
const DATACENTER = /^([a-z]+\d*)-dc\d+$/;

export function parseCreateServerRequest(body: unknown): CreateServerRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HetznerApiError(400, 'json_error', 'request body must be a JSON object');
  }
  const raw = body as Record<string, unknown>;
  const problems: FieldError[] = [];
  const problem = (name: string, message: string): void => {
    const existing = problems.find((p) => p.name === name);
    if (existing) existing.messages?.push(message);
    else problems.push({ name, messages: [message] });
  };

  const name = checkName(raw.name, problem);
  const serverType = checkServerType(raw.server_type, problem);
  const location = checkLocation(raw.location, raw.datacenter, serverType, problem);
  const image = checkImage(raw.image, serverType, problem);

  let labels: Labels = {};
  try {
    labels = parseLabels(raw.labels);
  } catch (err) {
    if (!(err instanceof HetznerApiError)) throw err;
    for (const field of (err.details?.fields as FieldError[] | undefined) ?? []) {
      for (const message of field.messages ?? []) problem(field.name, message);
    }
  }

  const startAfterCreate = optionalBoolean(raw.start_after_create, 'start_after_create', true, problem);
  const sshKeys = raw.ssh_keys;
  if (sshKeys !== undefined && sshKeys !== null) {
    const ok = Array.isArray(sshKeys) && sshKeys.every((k) => typeof k === 'string' || Number.isInteger(k));
    if (!ok) problem('ssh_keys', 'must be a list of SSH key ids or names');
  }
  if (raw.user_data !== undefined && raw.user_data !== null) {
    if (typeof raw.user_data !== 'string') problem('user_data', 'must be a string');
    else if (Buffer.byteLength(raw.user_data, 'utf8') > MAX_USER_DATA_BYTES) problem('user_data', 'is too long (at most 32 KiB)');
  }
  // The sandbox has no volumes, networks, firewalls or placement groups, so any reference names nothing.
  for (const field of ['volumes', 'networks', 'firewalls'] as const) {
    const value = raw[field];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value)) problem(field, 'must be a list');
    else if (value.length > 0) problem(field, `${field.slice(0, -1)} ${JSON.stringify(value[0])} not found`);
  }
  if (raw.placement_group !== undefined && raw.placement_group !== null) {
    problem('placement_group', `placement group ${JSON.stringify(raw.placement_group)} not found`);
  }
  const publicNet = checkPublicNet(raw.public_net, problem);

  if (problems.length > 0) throw invalidInput(problems);
  return {
    name: name as string,
    serverType: serverType as HetznerServerType,
    image: image as HetznerImage,
    location: location as HetznerLocation,
    labels,
    startAfterCreate,
    generateRootPassword: !Array.isArray(sshKeys) || sshKeys.length === 0,
    ...publicNet,
  };
}

type Problem = (field: string, message: string) => void;

export function checkName(value: unknown, problem: Problem): string | undefined {
  if (value === undefined || value === null || value === '') return void problem('name', 'is required');
  if (typeof value !== 'string') return void problem('name', 'must be a string');
  if (value.length > MAX_NAME) return void problem('name', 'is too long');
  if (!value.split('.').every((label) => HOSTNAME_LABEL.test(label))) {
    return void problem('name', 'must be a valid hostname (letters, digits, periods and dashes)');
  }
  return value;
}

function checkServerType(value: unknown, problem: Problem): HetznerServerType | undefined {
  if (value === undefined || value === null || value === '') return void problem('server_type', 'is required');
  if (typeof value !== 'string' && !Number.isInteger(value)) return void problem('server_type', 'must be a name or an id');
  const type = findServerType(value as string | number);
  if (type === undefined) return void problem('server_type', `server type ${JSON.stringify(value)} not found`);
  return type;
}

/** Omitted, the server goes to the first location that offers its type. */
function checkLocation(
  value: unknown,
  datacenter: unknown,
  type: HetznerServerType | undefined,
  problem: Problem,
): HetznerLocation | undefined {
  let location: HetznerLocation | undefined;
  if (value !== undefined && value !== null) {
    if (datacenter !== undefined && datacenter !== null) {
      return void problem('location', 'must not be used together with datacenter');
    }
    if (typeof value !== 'string' && !Number.isInteger(value)) return void problem('location', 'must be a name or an id');
    location = findLocation(value as string | number);
    if (location === undefined) return void problem('location', `location ${JSON.stringify(value)} not found`);
  } else if (datacenter !== undefined && datacenter !== null) {
    const match = typeof datacenter === 'string' ? DATACENTER.exec(datacenter) : null;
    location = match?.[1] === undefined ? undefined : findLocation(match[1]);
    if (location === undefined) return void problem('datacenter', `datacenter ${JSON.stringify(datacenter)} not found`);
  } else {
    location = type === undefined ? HETZNER_LOCATIONS[0] : HETZNER_LOCATIONS.find((l) => isOfferedIn(type, l.name));
    if (location === undefined) return void problem('server_type', 'server type is not offered in any location');
  }
  if (type !== undefined && !isOfferedIn(type, location.name)) {
    return void problem(
      'location',
      `unsupported location for server type: ${type.name} is offered in ${type.locations.join(', ')}, not ${location.name}`,
    );
  }
  return location;
}

/** Names resolve to the variant for the server type's architecture; ids must match it. */
function checkImage(value: unknown, type: HetznerServerType | undefined, problem: Problem): HetznerImage | undefined {
  if (value === undefined || value === null || value === '') return void problem('image', 'is required');
  if (typeof value !== 'string' && !Number.isInteger(value)) return void problem('image', 'must be a name or an id');
  const ref = value as string | number;
  const image = findImage(ref, type?.architecture ?? 'x86') ?? (type === undefined ? findImage(ref, 'arm') : undefined);
  if (image === undefined) {
    const otherArchitecture = type !== undefined && findImage(ref, type.architecture === 'x86' ? 'arm' : 'x86');
    return void problem(
      'image',
      otherArchitecture ? `image ${JSON.stringify(value)} is not available for architecture ${type.architecture}` : `image ${JSON.stringify(value)} not found`,
    );
  }
  if (type !== undefined && image.architecture !== type.architecture) {
    return void problem('image', `image ${image.id} is built for ${image.architecture}, server type ${type.name} is ${type.architecture}`);
  }
  return image;
}

function checkPublicNet(value: unknown, problem: Problem): { ipv4: boolean; ipv6: boolean } {
  if (value === undefined || value === null) return { ipv4: true, ipv6: true };
  if (typeof value !== 'object' || Array.isArray(value)) {
    problem('public_net', 'must be an object');
    return { ipv4: true, ipv6: true };
  }
  const raw = value as Record<string, unknown>;
  return {
    ipv4: optionalBoolean(raw.enable_ipv4, 'public_net.enable_ipv4', true, problem),
    ipv6: optionalBoolean(raw.enable_ipv6, 'public_net.enable_ipv6', true, problem),
  };
}

function optionalBoolean(value: unknown, field: string, fallback: boolean, problem: Problem): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') {
    problem(field, 'must be a boolean');
    return fallback;
  }
  return value;
}
