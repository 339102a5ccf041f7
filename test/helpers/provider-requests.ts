import type { ProviderName } from '../../src/common/provider.js';

/** A plan and zone each simulated provider offers, and a bigger plan to resize to. */
export const PROVIDER_REQUESTS: Record<ProviderName, { plan: string; zone: string; biggerPlan: string }> = {
  digitalocean: { plan: 's-1vcpu-1gb', zone: 'nyc3', biggerPlan: 's-2vcpu-4gb' },
  hetzner: { plan: 'cx23', zone: 'fsn1', biggerPlan: 'cx33' },
  vultr: { plan: 'vc2-1c-1gb', zone: 'ewr', biggerPlan: 'vc2-2c-4gb' },
  upcloud: { plan: '1xCPU-1GB', zone: 'de-fra1', biggerPlan: '2xCPU-4GB' },
};

export const EVERY_PROVIDER = Object.keys(PROVIDER_REQUESTS) as ProviderName[];
