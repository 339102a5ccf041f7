import type { ProviderName } from '../../common/provider.js';
import type { Config } from '../config.js';

/**
 * The settings a running process takes on a configuration reload, and how each is applied to
 * its live configuration. Everything reading them reads the live configuration on every use (or,
 * for the API's request limits and the logger's level, is told; see config-reload.ts), so a
 * change here is in force for the next request. Any other setting is read once at start, so a
 * change to it is reported as needing a restart and left as it is.
 */
const APPLY: Record<string, (live: Config, next: Config) => void> = {
  LOG_LEVEL: (live, next) => void (live.logLevel = next.logLevel),
  // The droplet's identity as /version, /capabilities and the mesh messages state it.
  DROPLET_ID: (live, next) => void (live.droplet.id = next.droplet.id),
  DROPLET_NAME: (live, next) => void (live.droplet.name = next.droplet.name),
  DROPLET_STEWARD: (live, next) => void (live.droplet.steward = next.droplet.steward),
  DROPLET_ENVIRONMENT: (live, next) => void (live.droplet.environment = next.droplet.environment),
  DROPLET_ENDPOINT: (live, next) => void (live.droplet.endpoint = next.droplet.endpoint),
  RATE_LIMIT_API: (live, next) => void (live.apiLimits.api = next.apiLimits.api),
  RATE_LIMIT_AUTH: (live, next) => void (live.apiLimits.auth = next.apiLimits.auth),
  ...providerLimit('RATE_LIMIT_DIGITALOCEAN', 'digitalocean'),
  ...providerLimit('RATE_LIMIT_HETZNER', 'hetzner'),
  ...providerLimit('RATE_LIMIT_VULTR', 'vultr'),
  ...providerLimit('RATE_LIMIT_UPCLOUD', 'upcloud'),
  FORCE_CANCEL_GRACE_MS: (live, next) => void (live.forceCancelGraceMs = next.forceCancelGraceMs),
  // Rotating the scraper's token needs no restart; the old one stops working at once.
  METRICS_TOKEN: (live, next) => void (live.metricsToken = next.metricsToken),
};

function providerLimit(setting: string, provider: ProviderName): Record<string, (live: Config, next: Config) => void> {
  return { [setting]: (live, next) => void (live.rateLimits[provider] = next.rateLimits[provider]) };
}

/** The settings a reload applies without a restart, in a stable order. */
export const RELOADABLE_SETTINGS: readonly string[] = Object.keys(APPLY);

export function isReloadable(setting: string): boolean {
  return Object.hasOwn(APPLY, setting);
}

/** Copies the named reloadable settings' values from `next` into the live configuration. */
export function applySettings(live: Config, next: Config, settings: readonly string[]): void {
  for (const setting of settings) APPLY[setting]?.(live, next);
}
