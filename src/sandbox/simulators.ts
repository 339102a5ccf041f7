/**
 * Every simulated provider the sandbox serves, and where. Adding a provider means adding
 * its settings field, its line in `createSimulators` and its row in `SIMULATOR_ENV`.
 */
import type { Clock } from './clock.js';
import { createDigitalOceanSimulator, type DigitalOceanSettings } from './digitalocean/simulator.js';
import type { Faults, SandboxProvider } from './faults.js';
import { createHetznerSimulator, type HetznerSettings } from './hetzner/simulator.js';
import type { ProviderSimulator } from './server.js';
import { createUpCloudSimulator, type UpCloudSettings } from './upcloud/simulator.js';
import { createVultrSimulator, type VultrSettings } from './vultr/simulator.js';

/** Per-provider behaviour: delays, rate limits. Each provider module defines its own. */
export interface SimulatorSettings {
  digitalocean?: DigitalOceanSettings;
  hetzner?: HetznerSettings;
  upcloud?: UpCloudSettings;
  vultr?: VultrSettings;
}

export interface SimulatorCommon {
  clock: Clock;
  /** The one bearer token every simulated account accepts. */
  token: string;
  faults: Faults;
}

export function createSimulators(common: SimulatorCommon, settings: SimulatorSettings): ProviderSimulator[] {
  return [
    createDigitalOceanSimulator({ ...common, ...settings.digitalocean }),
    createHetznerSimulator({ ...common, ...settings.hetzner }),
    createUpCloudSimulator({ ...common, ...settings.upcloud }),
    createVultrSimulator({ ...common, ...settings.vultr }),
  ];
}

/**
 * What the sandbox puts before each provider's own API paths on its main port (DigitalOcean
 * needs none: its paths start at /v2). A provider served at the root of a port of its own
 * drops it, so a client that builds absolute paths (`/v2/instances`) from the host finds it.
 */
export const SANDBOX_PATH_PREFIX: Record<SandboxProvider, string> = {
  digitalocean: '',
  hetzner: '/hetzner',
  vultr: '/vultr',
  upcloud: '/upcloud',
};

/** The engine's settings that point it at each simulator (see src/core/config.ts). */
export const SIMULATOR_ENV: Record<SandboxProvider, { url: string; token: string }> = {
  digitalocean: { url: 'DIGITALOCEAN_API_URL', token: 'DIGITALOCEAN_TOKEN' },
  hetzner: { url: 'HCLOUD_API_URL', token: 'HCLOUD_TOKEN' },
  vultr: { url: 'VULTR_API_URL', token: 'VULTR_API_KEY' },
  upcloud: { url: 'UPCLOUD_API_URL', token: 'UPCLOUD_TOKEN' },
};
