/**
 * Builds one adapter per configured provider. A provider missing from the config is simply
 * absent from the map, so callers can answer PROVIDER_NOT_CONFIGURED for it.
 */
import { DigitalOceanProvider } from './digitalocean/adapter.js';
import { HetznerProvider } from './hetzner/adapter.js';
import { providerAccountId, type RequestBudget } from './request-budget.js';
import type { ProviderCallObserver } from './call-observer.js';
import type { Provider, ProviderName } from '../common/provider.js';
import { UpCloudProvider } from './upcloud/adapter.js';
import { VultrProvider } from './vultr/adapter.js';

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
  /** Told how each request attempt went (the process's provider metrics). */
  observer?: ProviderCallObserver;
}

/** The shared request budget of one provider account (src/core/rate-budget/createRequestBudgets). */
export type BudgetFor = (provider: ProviderName, accountId: string) => RequestBudget;

/**
 * Without `budgetFor` each adapter's HTTP client keeps its old, process-local 429 handling;
 * with it, every request draws on its account's budget shared by all processes.
 */
export function createProviders(config: ProvidersConfig, tuning: ProviderTuning = {}, budgetFor?: BudgetFor): Map<ProviderName, Provider> {
  const providers = new Map<ProviderName, Provider>();
  const http = (provider: ProviderName) => {
    const budget = budgetFor ? budgetFor(provider, accountIdFor(provider, config)!) : undefined;
    return { timeoutMs: tuning.requestTimeoutMs, maxConcurrency: tuning.maxConcurrency, ...(budget ? { budget } : {}), ...(tuning.observer ? { observer: tuning.observer } : {}) };
  };
  if (config.digitalocean) {
    providers.set('digitalocean', new DigitalOceanProvider({ ...config.digitalocean, pollIntervalMs: tuning.pollIntervalMs, http: http('digitalocean') }));
  }
  if (config.hetzner) providers.set('hetzner', new HetznerProvider({ ...config.hetzner, pollIntervalMs: tuning.pollIntervalMs, http: http('hetzner') }));
  if (config.vultr) providers.set('vultr', new VultrProvider({ ...config.vultr, pollIntervalMs: tuning.pollIntervalMs, http: http('vultr') }));
  if (config.upcloud) providers.set('upcloud', new UpCloudProvider({ ...config.upcloud, pollIntervalMs: tuning.pollIntervalMs, http: http('upcloud') }));
  return providers;
}

/** The id of the account a configured provider is called as (undefined when it is not configured). */
export function accountIdFor(provider: ProviderName, config: ProvidersConfig): string | undefined {
  const credentials = config[provider];
  return credentials ? providerAccountId(provider, credentials) : undefined;
}
