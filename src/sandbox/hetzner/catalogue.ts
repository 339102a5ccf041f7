/**
 * Seed catalogue for the simulated Hetzner Cloud project: locations, server types and
 * system images with the names from PROVIDERS.md §2.10, plus their JSON as the API prints it.
 *
 * Prices are plausible list prices in EUR: `net` per location and `gross` with 19 % VAT,
 * as decimal strings the way Hetzner sends them. The US and Singapore locations cost more
 * than the EU ones, so "the price for the location" is observable. The `cx` and Arm (`cax`)
 * types exist only in the EU locations, as at Hetzner, so "server type not offered in this
 * location" is reachable. Every image exists once per CPU architecture under the same name;
 * a create picks the variant matching its server type.
 */

export type Architecture = 'x86' | 'arm';

export interface HetznerLocation {
  id: number;
  name: string;
  description: string;
  country: string;
  city: string;
  latitude: number;
  longitude: number;
  network_zone: string;
  /** Price factor relative to the EU list price. */
  priceFactor: number;
}

export interface HetznerServerType {
  id: number;
  name: string;
  description: string;
  cores: number;
  /** GB. */
  memory: number;
  /** GB. */
  disk: number;
  cpu_type: 'shared' | 'dedicated';
  architecture: Architecture;
  storage_type: 'local' | 'network';
  /** EUR per month, net, in the EU locations. */
  monthlyNet: number;
  /** Names of the locations the type can be created in. */
  locations: string[];
  /** TB of traffic included per month. */
  includedTrafficTb: number;
}

export interface HetznerImage {
  id: number;
  name: string;
  description: string;
  os_flavor: string;
  os_version: string;
  architecture: Architecture;
  created: string;
  image_size: number | null;
  disk_size: number;
}

export const HETZNER_LOCATIONS: readonly HetznerLocation[] = [
  location(1, 'fsn1', 'Falkenstein DC Park 1', 'DE', 'Falkenstein', 50.47612, 12.370071, 'eu-central', 1),
  location(2, 'nbg1', 'Nuremberg DC Park 1', 'DE', 'Nuremberg', 49.452102, 11.076665, 'eu-central', 1),
  location(3, 'hel1', 'Helsinki DC Park 1', 'FI', 'Helsinki', 60.169855, 24.938379, 'eu-central', 1),
  location(4, 'ash', 'Ashburn, VA', 'US', 'Ashburn, VA', 39.043757, -77.487442, 'us-east', 1.2),
  location(5, 'hil', 'Hillsboro, OR', 'US', 'Hillsboro, OR', 45.54222, -122.951924, 'us-west', 1.2),
  location(6, 'sin', 'Singapore', 'SG', 'Singapore', 1.283333, 103.833333, 'ap-southeast', 1.35),
];

const EU = ['fsn1', 'nbg1', 'hel1'];
const EVERYWHERE = HETZNER_LOCATIONS.map((l) => l.name);

export const HETZNER_SERVER_TYPES: readonly HetznerServerType[] = [
  serverType(114, 'cx23', 2, 4, 40, 'shared', 'x86', 3.49, EU, 20),
  serverType(115, 'cx33', 4, 8, 80, 'shared', 'x86', 5.49, EU, 20),
  serverType(116, 'cx43', 8, 16, 160, 'shared', 'x86', 9.49, EU, 20),
  serverType(117, 'cpx22', 2, 4, 80, 'shared', 'x86', 5.99, EVERYWHERE, 20),
  serverType(118, 'cpx32', 4, 8, 160, 'shared', 'x86', 10.49, EVERYWHERE, 20),
  serverType(45, 'cax11', 2, 4, 40, 'shared', 'arm', 3.79, EU, 20),
  serverType(93, 'cax21', 4, 8, 80, 'shared', 'arm', 6.49, EU, 20),
  serverType(94, 'cax31', 8, 16, 160, 'shared', 'arm', 12.49, EU, 20),
  serverType(96, 'ccx13', 2, 8, 80, 'dedicated', 'x86', 12.49, EVERYWHERE, 20),
];

export const HETZNER_IMAGES: readonly HetznerImage[] = [
  ...osImage([161547269, 161547270], 'ubuntu-24.04', 'Ubuntu 24.04', 'ubuntu', '24.04', '2024-04-25T10:00:00+00:00'),
  ...osImage([67794396, 103907373], 'ubuntu-22.04', 'Ubuntu 22.04', 'ubuntu', '22.04', '2022-04-21T13:32:38+00:00'),
  ...osImage([114690387, 114690389], 'debian-12', 'Debian 12', 'debian', '12', '2023-06-13T06:00:02+00:00'),
  ...osImage([247015632, 247015633], 'debian-13', 'Debian 13', 'debian', '13', '2025-08-12T06:00:00+00:00'),
];

export function findLocation(ref: string | number): HetznerLocation | undefined {
  return isIdRef(ref) ? HETZNER_LOCATIONS.find((l) => l.id === Number(ref)) : HETZNER_LOCATIONS.find((l) => l.name === ref);
}

/** Server types are addressed by name or id. */
export function findServerType(ref: string | number): HetznerServerType | undefined {
  return isIdRef(ref)
    ? HETZNER_SERVER_TYPES.find((t) => t.id === Number(ref))
    : HETZNER_SERVER_TYPES.find((t) => t.name === ref);
}

/**
 * An image by id, or by name for the given architecture (names are shared between the
 * x86 and Arm variants). Without an architecture a name resolves to the x86 variant.
 */
export function findImage(ref: string | number, architecture: Architecture = 'x86'): HetznerImage | undefined {
  if (isIdRef(ref)) return HETZNER_IMAGES.find((i) => i.id === Number(ref));
  return HETZNER_IMAGES.find((i) => i.name === ref && i.architecture === architecture);
}

export function isOfferedIn(type: HetznerServerType, locationName: string): boolean {
  return type.locations.includes(locationName);
}

// ---- JSON as the API prints it --------------------------------------------------------

export function locationJson(l: HetznerLocation): Record<string, unknown> {
  return {
    id: l.id,
    name: l.name,
    description: l.description,
    country: l.country,
    city: l.city,
    latitude: l.latitude,
    longitude: l.longitude,
    network_zone: l.network_zone,
  };
}

export function serverTypeJson(t: HetznerServerType): Record<string, unknown> {
  const offered = HETZNER_LOCATIONS.filter((l) => isOfferedIn(t, l.name));
  return {
    id: t.id,
    name: t.name,
    description: t.description,
    category: t.cpu_type === 'dedicated' ? 'dedicated_cpu' : 'shared_cpu',
    cores: t.cores,
    memory: t.memory,
    disk: t.disk,
    deprecated: false,
    deprecation: null,
    prices: offered.map((l) => {
      const monthlyNet = t.monthlyNet * l.priceFactor;
      const trafficNet = 1 * l.priceFactor;
      return {
        location: l.name,
        price_hourly: money(monthlyNet / HOURS_BILLED_PER_MONTH),
        price_monthly: money(monthlyNet),
        included_traffic: t.includedTrafficTb * TB,
        price_per_tb_traffic: money(trafficNet),
      };
    }),
    storage_type: t.storage_type,
    cpu_type: t.cpu_type,
    architecture: t.architecture,
    locations: offered.map((l) => ({ id: l.id, name: l.name, deprecation: null })),
  };
}

export function imageJson(i: HetznerImage): Record<string, unknown> {
  return {
    id: i.id,
    type: 'system',
    status: 'available',
    name: i.name,
    description: i.description,
    image_size: i.image_size,
    disk_size: i.disk_size,
    created: i.created,
    created_from: null,
    bound_to: null,
    os_flavor: i.os_flavor,
    os_version: i.os_version,
    rapid_deploy: true,
    protection: { delete: false },
    deprecated: null,
    deleted: null,
    labels: {},
    architecture: i.architecture,
  };
}

// ---- construction helpers -------------------------------------------------------------

/** Hetzner caps the monthly price; hourly billing reaches it after roughly this many hours. */
const HOURS_BILLED_PER_MONTH = 624;
const VAT = 1.19;
const TB = 1024 ** 4;

function money(net: number): { net: string; gross: string } {
  return { net: net.toFixed(4), gross: (net * VAT).toFixed(4) };
}

function isIdRef(ref: string | number): boolean {
  return typeof ref === 'number' || /^\d+$/.test(ref);
}

function location(
  id: number,
  name: string,
  description: string,
  country: string,
  city: string,
  latitude: number,
  longitude: number,
  networkZone: string,
  priceFactor: number,
): HetznerLocation {
  return { id, name, description, country, city, latitude, longitude, network_zone: networkZone, priceFactor };
}

function serverType(
  id: number,
  name: string,
  cores: number,
  memory: number,
  disk: number,
  cpuType: HetznerServerType['cpu_type'],
  architecture: Architecture,
  monthlyNet: number,
  locations: string[],
  includedTrafficTb: number,
): HetznerServerType {
  return {
    id,
    name,
    description: name.toUpperCase(),
    cores,
    memory,
    disk,
    cpu_type: cpuType,
    architecture,
    storage_type: 'local',
    monthlyNet,
    locations: [...locations],
    includedTrafficTb,
  };
}

function osImage(
  ids: readonly [x86: number, arm: number],
  name: string,
  description: string,
  osFlavor: string,
  osVersion: string,
  created: string,
): HetznerImage[] {
  return (['x86', 'arm'] as const).map((architecture, i) => ({
    id: ids[i] as number,
    name,
    description,
    os_flavor: osFlavor,
    os_version: osVersion,
    architecture,
    created,
    image_size: null,
    disk_size: 5,
  }));
}
