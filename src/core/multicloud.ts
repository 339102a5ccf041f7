/**
 * The per-provider endpoints of the multi-cloud manager contract (`/do/*`, `/hetzner/*`,
 * `/vultr/*`, `/upcloud/*`, `/multi/list`), answered in that contract's terms. Listings ask
 * the providers directly; every mutation goes through the engine as an operation.
 */
import type { CallContext, PowerAction, Provider, ProviderName, ProviderServer } from '../common/provider.js';
import { PROVIDER_SETTING } from './config.js';
import type { CoreContext } from './context.js';
import { ErrorCodes, NotFoundError, ProviderNotConfiguredError, ValidationError } from '../common/errors.js';
import type { Operation } from './operations/model.js';
import { serverIdFor, type ServerRecord } from './servers/inventory.js';
import { requestServerAction, requestServerCreate, requestServerDelete, type Actor } from './servers/requests.js';

/**
 * The multi-cloud contract knows no workspaces: what it makes, and the servers it adopts, live in
 * this one, and its listings (every server of a provider account) are for members of it.
 */
export const MULTI_CLOUD_WORKSPACE = 'default';

export interface SeedProvider {
  provider: ProviderName;
  /** The list's collection key and the single resource's key, as the contract names them. */
  collection: 'droplets' | 'servers' | 'instances';
  resource: 'droplet' | 'server' | 'instance';
  /** The key a delete answer names the resource by. */
  idField: 'droplet_id' | 'server_id' | 'instance_id';
  /** What a register without region/size/image gets (the contract gives DigitalOcean's). */
  defaults: { region?: string; size?: string; image?: string };
}

export const SEED_PROVIDERS: Record<string, SeedProvider> = {
  do: { provider: 'digitalocean', collection: 'droplets', resource: 'droplet', idField: 'droplet_id', defaults: { region: 'sfo3', size: 's-1vcpu-1gb', image: 'ubuntu-22-04-x64' } },
  hetzner: { provider: 'hetzner', collection: 'servers', resource: 'server', idField: 'server_id', defaults: {} },
  vultr: { provider: 'vultr', collection: 'instances', resource: 'instance', idField: 'instance_id', defaults: {} },
  upcloud: { provider: 'upcloud', collection: 'servers', resource: 'server', idField: 'server_id', defaults: {} },
};

export interface SeedResource {
  id: string;
  name: string;
  status: string;
  ip: string | null;
  region: string;
  size: string;
  created_at: string;
}

export function toSeedResource(s: ProviderServer): SeedResource {
  return { id: s.providerId, name: s.name, status: s.providerStatus ?? s.status, ip: s.ipv4, region: s.zone, size: s.plan, created_at: s.createdAt };
}

/** The same shape from the engine's inventory record, for answers after an operation. */
export function inventoryToSeedResource(s: ServerRecord): SeedResource {
  return { id: s.provider_id, name: s.hostname, status: s.provider_status ?? s.status, ip: s.ip_address, region: s.zone, size: s.plan, created_at: s.created_at };
}

const LIST_TIMEOUT_MS = 30000;

export function configuredProvider(providers: Map<ProviderName, Provider>, name: ProviderName): Provider {
  const provider = providers.get(name);
  if (!provider) throw new ProviderNotConfiguredError(name, PROVIDER_SETTING[name]);
  return provider;
}

export async function listProviderServers(providers: Map<ProviderName, Provider>, seed: SeedProvider) {
  const servers = await configuredProvider(providers, seed.provider).listServers({ signal: AbortSignal.timeout(LIST_TIMEOUT_MS) });
  return { provider: seed.provider, count: servers.length, [seed.collection]: servers.map(toSeedResource) };
}

/** Every configured provider at once; one that fails is reported in `errors`, the rest still answer. */
export async function listAllProviders(providers: Map<ProviderName, Provider>) {
  const entries = Object.entries(SEED_PROVIDERS).filter(([, seed]) => providers.has(seed.provider));
  const settled = await Promise.allSettled(entries.map(([, seed]) => providers.get(seed.provider)!.listServers({ signal: AbortSignal.timeout(LIST_TIMEOUT_MS) })));
  const answer: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  entries.forEach(([prefix], i) => {
    const result = settled[i]!;
    if (result.status === 'fulfilled') answer[prefix] = result.value.map(toSeedResource);
    else errors[prefix] = (result.reason as Error).message;
  });
  return { ...answer, ...(Object.keys(errors).length ? { errors } : {}) };
}

export interface RegisterBody {
  name: string;
  region?: string;
  size?: string;
  image?: string;
  ssh_keys?: Array<string | number>;
  user_data?: string;
}

export async function registerServer(ctx: CoreContext, providers: Map<ProviderName, Provider>, seed: SeedProvider, body: RegisterBody, actor: Actor): Promise<Operation> {
  const provider = configuredProvider(providers, seed.provider);
  const region = body.region ?? seed.defaults.region;
  const size = body.size ?? seed.defaults.size;
  const missing = [!region && 'region', !size && 'size'].filter(Boolean) as string[];
  if (missing.length) {
    throw new ValidationError(missing.map((field) => ({ field, problem: `is required for ${seed.provider}` })));
  }
  return requestServerCreate(
    ctx,
    {
      workspace: MULTI_CLOUD_WORKSPACE,
      provider: seed.provider,
      plan: size!,
      hostname: body.name,
      zone: region!,
      image: body.image ?? seed.defaults.image ?? provider.defaultImage,
      ssh_keys: body.ssh_keys?.map(String),
      user_data: body.user_data,
      check_mode: false,
      tags: [],
    },
    actor,
  );
}

/**
 * The engine id for a provider's server id. A server the engine did not create (made in the
 * provider's console, say) is read once and taken into the inventory, so it can be acted on.
 */
export async function adoptServer(ctx: CoreContext, providers: Map<ProviderName, Provider>, seed: SeedProvider, providerId: string): Promise<string> {
  const id = serverIdFor(seed.provider, providerId);
  if (await ctx.inventory.get(id)) return id;
  const call: CallContext = { signal: AbortSignal.timeout(LIST_TIMEOUT_MS) };
  const server = await configuredProvider(providers, seed.provider).getServer(providerId, call);
  if (!server) throw new NotFoundError(ErrorCodes.SERVER_NOT_FOUND, `${seed.provider} has no ${seed.resource} ${providerId}`);
  await ctx.inventory.upsert(server, { workspace: MULTI_CLOUD_WORKSPACE, operationId: '' });
  return id;
}

export async function actOnServer(ctx: CoreContext, providers: Map<ProviderName, Provider>, seed: SeedProvider, providerId: string, action: PowerAction, actor: Actor): Promise<Operation> {
  return requestServerAction(ctx, await adoptServer(ctx, providers, seed, providerId), action, actor);
}

export async function deleteServer(ctx: CoreContext, providers: Map<ProviderName, Provider>, seed: SeedProvider, providerId: string, actor: Actor): Promise<Operation> {
  return requestServerDelete(ctx, await adoptServer(ctx, providers, seed, providerId), {}, actor);
}
