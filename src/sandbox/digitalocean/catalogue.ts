/**
 * Seed catalogue for the simulated DigitalOcean account: regions, sizes and images with
 * the slugs from PROVIDERS.md §1.10. Prices are list prices as of 2026 where known and
 * plausible values otherwise; hourly prices follow DigitalOcean's 672-hour month.
 */

export interface DoRegion {
  slug: string;
  name: string;
  features: string[];
  available: boolean;
  sizes: string[];
}

export interface DoSize {
  slug: string;
  memory: number;
  vcpus: number;
  disk: number;
  transfer: number;
  price_monthly: number;
  price_hourly: number;
  regions: string[];
  available: boolean;
  description: string;
}

export interface DoImage {
  id: number;
  name: string;
  distribution: string;
  slug: string;
  public: boolean;
  regions: string[];
  created_at: string;
  type: 'base';
  min_disk_size: number;
  size_gigabytes: number;
  description: string;
  tags: string[];
  status: 'available';
  error_message: string;
}

const REGION_FEATURES = ['backups', 'ipv6', 'metadata', 'install_agent', 'storage', 'image_transfer'];

const REGION_NAMES: ReadonlyArray<readonly [slug: string, name: string]> = [
  ['nyc1', 'New York 1'],
  ['nyc3', 'New York 3'],
  ['sfo3', 'San Francisco 3'],
  ['ams3', 'Amsterdam 3'],
  ['fra1', 'Frankfurt 1'],
  ['lon1', 'London 1'],
  ['sgp1', 'Singapore 1'],
  ['tor1', 'Toronto 1'],
  ['blr1', 'Bangalore 1'],
  ['syd1', 'Sydney 1'],
];

const ALL_REGION_SLUGS = REGION_NAMES.map(([slug]) => slug);

/** The largest size is not offered everywhere, so "size not available in region" is reachable. */
const LARGE_SIZE_REGIONS = ALL_REGION_SLUGS.filter((slug) => slug !== 'blr1' && slug !== 'syd1');

const HOURS_PER_MONTH = 672;

function size(
  slug: string,
  vcpus: number,
  memory: number,
  disk: number,
  transfer: number,
  priceMonthly: number,
  regions: string[] = ALL_REGION_SLUGS,
): DoSize {
  return {
    slug,
    memory,
    vcpus,
    disk,
    transfer,
    price_monthly: priceMonthly,
    price_hourly: Math.round((priceMonthly / HOURS_PER_MONTH) * 100000) / 100000,
    regions: [...regions],
    available: true,
    description: 'Basic',
  };
}

export const DO_SIZES: readonly DoSize[] = [
  size('s-1vcpu-512mb-10gb', 1, 512, 10, 0.5, 4),
  size('s-1vcpu-1gb', 1, 1024, 25, 1, 6),
  size('s-1vcpu-2gb', 1, 2048, 50, 2, 12),
  size('s-2vcpu-2gb', 2, 2048, 60, 3, 18),
  size('s-2vcpu-4gb', 2, 4096, 80, 4, 24),
  size('s-4vcpu-8gb', 4, 8192, 160, 5, 48),
  size('s-8vcpu-16gb', 8, 16384, 320, 6, 96),
  size('s-8vcpu-32gb', 8, 32768, 640, 7, 192, LARGE_SIZE_REGIONS),
];

export const DO_REGIONS: readonly DoRegion[] = REGION_NAMES.map(([slug, name]) => ({
  slug,
  name,
  features: [...REGION_FEATURES],
  available: true,
  sizes: DO_SIZES.filter((s) => s.regions.includes(slug)).map((s) => s.slug),
}));

function image(id: number, slug: string, name: string, distribution: string, createdAt: string, sizeGb: number): DoImage {
  return {
    id,
    name,
    distribution,
    slug,
    public: true,
    regions: [...ALL_REGION_SLUGS],
    created_at: createdAt,
    type: 'base',
    min_disk_size: 7,
    size_gigabytes: sizeGb,
    description: `${distribution} ${name}`,
    tags: [],
    status: 'available',
    error_message: '',
  };
}

export const DO_IMAGES: readonly DoImage[] = [
  image(112929454, 'ubuntu-20-04-x64', '20.04 (LTS) x64', 'Ubuntu', '2022-06-22T16:42:37Z', 0.99),
  image(129211873, 'ubuntu-22-04-x64', '22.04 (LTS) x64', 'Ubuntu', '2023-04-25T14:29:56Z', 1.27),
  image(160189812, 'ubuntu-24-04-x64', '24.04 (LTS) x64', 'Ubuntu', '2024-07-24T09:03:41Z', 1.82),
  image(149421345, 'debian-12-x64', '12 x64', 'Debian', '2024-02-15T18:23:10Z', 0.95),
];

export function findRegion(slug: string): DoRegion | undefined {
  return DO_REGIONS.find((r) => r.slug === slug);
}

export function findSize(slug: string): DoSize | undefined {
  return DO_SIZES.find((s) => s.slug === slug);
}

/** Images are addressed by slug or by numeric id (as a number or a digit string). */
export function findImage(ref: string | number): DoImage | undefined {
  if (typeof ref === 'number' || /^\d+$/.test(ref)) {
    const id = Number(ref);
    return DO_IMAGES.find((i) => i.id === id);
  }
  return DO_IMAGES.find((i) => i.slug === ref);
}
