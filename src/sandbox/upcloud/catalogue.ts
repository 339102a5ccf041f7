/**
 * Seed catalogue for the simulated UpCloud account: zones, plans, prices and public
 * templates with the ids from PROVIDERS.md §4.10.
 *
 * Plan sizes and monthly prices are plausible list values, not quotes. UpCloud prices in
 * euro cents per hour (`GET /1.3/price`) and bills a month as 672 hours, so the hourly
 * figures here are the monthly price spread over 672 hours.
 */

export interface UpCloudZone {
  id: string;
  description: string;
}

export interface UpCloudPlan {
  name: string;
  coreNumber: number;
  memoryAmount: number;
  storageSize: number;
  storageTier: 'maxiops';
  /** Included outbound traffic per month, GiB. */
  publicTrafficOut: number;
  /** Euro cents per hour. */
  priceCentsPerHour: number;
}

export type TemplateType = 'cloud-init' | 'native';

export interface UpCloudTemplate {
  uuid: string;
  title: string;
  /** GB; a clone may be larger, never smaller. */
  size: number;
  /** cloud-init templates need `metadata: "yes"` on the server that clones them. */
  templateType: TemplateType;
  createdAt: string;
}

export const HOURS_PER_MONTH = 672;

export const UPCLOUD_ZONES: readonly UpCloudZone[] = [
  { id: 'de-fra1', description: 'Frankfurt #1' },
  { id: 'es-mad1', description: 'Madrid #1' },
  { id: 'fi-hel1', description: 'Helsinki #1' },
  { id: 'fi-hel2', description: 'Helsinki #2' },
  { id: 'nl-ams1', description: 'Amsterdam #1' },
  { id: 'pl-waw1', description: 'Warsaw #1' },
  { id: 'se-sto1', description: 'Stockholm #1' },
  { id: 'sg-sin1', description: 'Singapore #1' },
  { id: 'uk-lon1', description: 'London #1' },
  { id: 'us-chi1', description: 'Chicago #1' },
  { id: 'us-nyc1', description: 'New York #1' },
  { id: 'us-sjo1', description: 'San Jose #1' },
  { id: 'au-syd1', description: 'Sydney #1' },
];

function plan(name: string, cores: number, memoryMb: number, storageGb: number, trafficGb: number, eurPerMonth: number): UpCloudPlan {
  return {
    name,
    coreNumber: cores,
    memoryAmount: memoryMb,
    storageSize: storageGb,
    storageTier: 'maxiops',
    publicTrafficOut: trafficGb,
    priceCentsPerHour: Math.round(((eurPerMonth * 100) / HOURS_PER_MONTH) * 10_000) / 10_000,
  };
}

export const UPCLOUD_PLANS: readonly UpCloudPlan[] = [
  plan('1xCPU-1GB', 1, 1024, 25, 1024, 7),
  plan('1xCPU-2GB', 1, 2048, 50, 2048, 13),
  plan('2xCPU-4GB', 2, 4096, 80, 4096, 26),
  plan('4xCPU-8GB', 4, 8192, 160, 5120, 52),
  plan('6xCPU-16GB', 6, 16384, 320, 6144, 96),
  plan('8xCPU-32GB', 8, 32768, 640, 7168, 192),
  plan('12xCPU-48GB', 12, 49152, 960, 9216, 288),
  plan('16xCPU-64GB', 16, 65536, 1280, 10240, 384),
  plan('20xCPU-96GB', 20, 98304, 1920, 12288, 576),
  plan('20xCPU-128GB', 20, 131072, 2048, 24576, 768),
];

/** Hourly prices of a custom (cores + memory) server, in the units `GET /price` reports them. */
export const CUSTOM_PRICES = {
  serverCore: { amount: 1, price: 1.3 },
  serverMemory: { amount: 256, price: 0.45 },
} as const;

export const UPCLOUD_TEMPLATES: readonly UpCloudTemplate[] = [
  {
    uuid: '01000000-0000-4000-8000-000030240200',
    title: 'Ubuntu Server 24.04 LTS (Noble Numbat)',
    size: 4,
    templateType: 'cloud-init',
    createdAt: '2024-04-26T08:12:31Z',
  },
  {
    uuid: '01000000-0000-4000-8000-000030220200',
    title: 'Ubuntu Server 22.04 LTS (Jammy Jellyfish)',
    size: 4,
    templateType: 'cloud-init',
    createdAt: '2022-04-22T10:03:11Z',
  },
  {
    uuid: '01000000-0000-4000-8000-000020070100',
    title: 'Debian GNU/Linux 12 (Bookworm)',
    size: 3,
    templateType: 'cloud-init',
    createdAt: '2023-06-12T09:41:52Z',
  },
  {
    uuid: '01000000-0000-4000-8000-000020060100',
    title: 'Debian GNU/Linux 11 (Bullseye)',
    size: 3,
    templateType: 'native',
    createdAt: '2021-08-16T13:20:05Z',
  },
];

export function findZone(id: string): UpCloudZone | undefined {
  return UPCLOUD_ZONES.find((z) => z.id === id);
}

export function findPlan(name: string): UpCloudPlan | undefined {
  return UPCLOUD_PLANS.find((p) => p.name === name);
}

export function findTemplate(uuid: string): UpCloudTemplate | undefined {
  return UPCLOUD_TEMPLATES.find((t) => t.uuid === uuid);
}
