/**
 * Builds one adapter per configured provider. A provider missing from the config is simply
 * absent from the map, so callers can answer PROVIDER_NOT_CONFIGURED for it.
 */
import { DigitalOceanProvider } from './digitalocean.js';
import { HetznerProvider } from './hetzner.js';
import type { Provider, ProviderName } from './types.js';
import { UpCloudProvider } from './upcloud.js';
import { VultrProvider } from './vultr.js';

export interface ProvidersConfig {
  digitalocean?: { baseUrl: string; token: string } | null;
  hetzner?: { baseUrl: string; token: string } | null;
  vultr?: { baseUrl: string; token: string } | null;
  upcloud?: { baseUrl: string; token?: string; username?: string; password?: string } | null;
}

/** Settings every adapter shares. */
export interface ProviderTuning {
  pollIntervalMs?: number;
  /** Per-attempt timeout of one HTTP request. */
  requestTimeoutMs?: number;
  /** Requests in flight at once per provider (the rest queue). */
  maxConcurrency?: number;
}

export function createProviders(config: ProvidersConfig, tuning: ProviderTuning = {}): Map<ProviderName, Provider> {
  const providers = new Map<ProviderName, Provider>();
  const http = { timeoutMs: tuning.requestTimeoutMs, maxConcurrency: tuning.maxConcurrency };
  if (config.digitalocean) {
    providers.set('digitalocean', new DigitalOceanProvider({ ...config.digitalocean, pollIntervalMs: tuning.pollIntervalMs, http }));
  }
  if (config.hetzner) providers.set('hetzner', new HetznerProvider({ ...config.hetzner, pollIntervalMs: tuning.pollIntervalMs, http }));
  if (config.vultr) providers.set('vultr', new VultrProvider({ ...config.vultr, pollIntervalMs: tuning.pollIntervalMs, http }));
  if (config.upcloud) providers.set('upcloud', new UpCloudProvider({ ...config.upcloud, pollIntervalMs: tuning.pollIntervalMs, http }));
  return providers;
}
