/**
 * Seed catalogue for the simulated Vultr account: regions, plans and operating systems
 * with the ids from PROVIDERS.md §3.10. Plan prices are Vultr's list prices where the
 * reference gives them and plausible values otherwise; hourly prices follow Vultr's
 * billing cap of 672 hours a month, rounded to Vultr's three decimals.
 */

export interface VultrRegion {
  id: string;
  city: string;
  country: string;
  continent: string;
  options: string[];
}

export interface VultrPlan {
  id: string;
  vcpu_count: number;
  /** MB. */
  ram: number;
  /** GB. */
  disk: number;
  disk_count: number;
  /** GB per month. */
  bandwidth: number;
  monthly_cost: number;
  hourly_cost: number;
  type: 'vc2' | 'vhf';
  locations: string[];
}

export interface VultrOs {
  id: number;
  name: string;
  arch: string;
  family: string;
}

const REGION_OPTIONS = ['ddos_protection', 'block_storage_high_perf', 'kubernetes'];

export const VULTR_REGIONS: readonly VultrRegion[] = [
  region('ewr', 'New Jersey', 'US', 'North America'),
  region('ord', 'Chicago', 'US', 'North America'),
  region('dfw', 'Dallas', 'US', 'North America'),
  region('lax', 'Los Angeles', 'US', 'North America'),
  region('sea', 'Seattle', 'US', 'North America'),
  region('atl', 'Atlanta', 'US', 'North America'),
  region('mia', 'Miami', 'US', 'North America'),
  region('sjc', 'Silicon Valley', 'US', 'North America'),
  region('ams', 'Amsterdam', 'NL', 'Europe'),
  region('fra', 'Frankfurt', 'DE', 'Europe'),
  region('lhr', 'London', 'GB', 'Europe'),
  region('cdg', 'Paris', 'FR', 'Europe'),
  region('sgp', 'Singapore', 'SG', 'Asia'),
  region('nrt', 'Tokyo', 'JP', 'Asia'),
  region('syd', 'Sydney', 'AU', 'Australia'),
  region('icn', 'Seoul', 'KR', 'Asia'),
  region('blr', 'Bangalore', 'IN', 'Asia'),
];

const ALL_REGION_IDS = VULTR_REGIONS.map((r) => r.id);

/**
 * High-frequency plans are not offered everywhere, so "plan not available in this region"
 * is reachable from a test.
 */
const HIGH_FREQUENCY_REGIONS = ALL_REGION_IDS.filter((id) => id !== 'blr' && id !== 'icn');

const BILLED_HOURS_PER_MONTH = 672;

export const VULTR_PLANS: readonly VultrPlan[] = [
  plan('vc2-1c-1gb', 'vc2', 1, 1024, 25, 1024, 5),
  plan('vc2-1c-2gb', 'vc2', 1, 2048, 55, 2048, 10),
  plan('vc2-2c-2gb', 'vc2', 2, 2048, 65, 3072, 15),
  plan('vc2-2c-4gb', 'vc2', 2, 4096, 80, 3072, 20),
  plan('vc2-4c-8gb', 'vc2', 4, 8192, 160, 4096, 40),
  plan('vc2-6c-16gb', 'vc2', 6, 16384, 320, 5120, 80),
  plan('vc2-8c-32gb', 'vc2', 8, 32768, 640, 6144, 160),
  plan('vc2-16c-64gb', 'vc2', 16, 65536, 1280, 10240, 320),
  plan('vhf-1c-1gb', 'vhf', 1, 1024, 32, 1024, 6, HIGH_FREQUENCY_REGIONS),
  plan('vhf-2c-4gb', 'vhf', 2, 4096, 128, 3072, 24, HIGH_FREQUENCY_REGIONS),
  plan('vhf-8c-32gb', 'vhf', 8, 32768, 512, 6144, 192, HIGH_FREQUENCY_REGIONS),
];

/** §3.10 confirms 1743, 2284 and 2136; the other ids are plausible stand-ins. */
export const VULTR_OS: readonly VultrOs[] = [
  { id: 387, name: 'Ubuntu 20.04 LTS x64', arch: 'x64', family: 'ubuntu' },
  { id: 1743, name: 'Ubuntu 22.04 LTS x64', arch: 'x64', family: 'ubuntu' },
  { id: 2284, name: 'Ubuntu 24.04 LTS x64', arch: 'x64', family: 'ubuntu' },
  { id: 477, name: 'Debian 11 x64 (bullseye)', arch: 'x64', family: 'debian' },
  { id: 2136, name: 'Debian 12 x64 (bookworm)', arch: 'x64', family: 'debian' },
  { id: 1869, name: 'Rocky Linux 9 x64', arch: 'x64', family: 'rockylinux' },
  { id: 2076, name: 'Alpine Linux x64', arch: 'x64', family: 'alpinelinux' },
];

export function findRegion(id: string): VultrRegion | undefined {
  return VULTR_REGIONS.find((r) => r.id === id);
}

export function findPlan(id: string): VultrPlan | undefined {
  return VULTR_PLANS.find((p) => p.id === id);
}

export function findOs(id: number): VultrOs | undefined {
  return VULTR_OS.find((o) => o.id === id);
}

/**
 * The plans an instance on `current` may move to: Vultr only upgrades, and a plan's disk
 * can never shrink, so every candidate has at least the current disk and costs more.
 */
export function upgradesOf(current: VultrPlan, regionId: string): VultrPlan[] {
  return VULTR_PLANS.filter(
    (p) =>
      p.id !== current.id &&
      p.locations.includes(regionId) &&
      p.disk >= current.disk &&
      p.monthly_cost > current.monthly_cost,
  );
}

function region(id: string, city: string, country: string, continent: string): VultrRegion {
  return { id, city, country, continent, options: [...REGION_OPTIONS] };
}

function plan(
  id: string,
  type: VultrPlan['type'],
  vcpus: number,
  ramMb: number,
  diskGb: number,
  bandwidthGb: number,
  monthly: number,
  locations: readonly string[] = ALL_REGION_IDS,
): VultrPlan {
  return {
    id,
    vcpu_count: vcpus,
    ram: ramMb,
    disk: diskGb,
    disk_count: 1,
    bandwidth: bandwidthGb,
    monthly_cost: monthly,
    hourly_cost: Math.round((monthly / BILLED_HOURS_PER_MONTH) * 1000) / 1000,
    type,
    locations: [...locations],
  };
}
