import type { ProviderName } from '../../common/provider.js';

/**
 * The droplets API names images by distribution slug (`ubuntu-22-04`); each provider's create
 * takes its own form: a DigitalOcean slug, a Hetzner image name, a Vultr os_id, an UpCloud
 * template UUID. A slug not listed here is passed on as it is, so a client may also name a
 * provider's own image directly.
 */
const IMAGES: Record<string, Partial<Record<ProviderName, string>>> = {
  'ubuntu-20-04': { digitalocean: 'ubuntu-20-04-x64', hetzner: 'ubuntu-20.04', vultr: '387' },
  'ubuntu-22-04': { digitalocean: 'ubuntu-22-04-x64', hetzner: 'ubuntu-22.04', vultr: '1743', upcloud: '01000000-0000-4000-8000-000030220200' },
  'ubuntu-24-04': { digitalocean: 'ubuntu-24-04-x64', hetzner: 'ubuntu-24.04', vultr: '2284', upcloud: '01000000-0000-4000-8000-000030240200' },
  'debian-12': { digitalocean: 'debian-12-x64', hetzner: 'debian-12', vultr: '2136', upcloud: '01000000-0000-4000-8000-000020070100' },
};

/** The provider's own image for a droplets API slug (or the value itself when it is not a known slug). */
export function providerImage(provider: ProviderName, image: string): string {
  return IMAGES[image]?.[provider] ?? image;
}

/** The droplets API slug of a provider's image, when it is one of the mapped ones; else the provider's own value. */
export function dropletImage(provider: ProviderName, image: string | null): string | null {
  if (image === null) return null;
  for (const [slug, forms] of Object.entries(IMAGES)) if (forms[provider] === image) return slug;
  return image;
}

export const MAPPED_IMAGES: readonly string[] = Object.keys(IMAGES);
