import { serverIdFor } from '../../src/core/servers/inventory.js';
import type { ProviderName } from '../../src/common/provider.js';
import { http } from './http.js';
import { PROVIDER_REQUESTS } from './provider-requests.js';
import type { TestSystem } from './system.js';

/** Each provider's delete request, as the sandbox's fault rules see it. */
export const DELETE_PATH: Record<ProviderName, string> = {
  digitalocean: '^/v2/droplets/\\d+$',
  hetzner: '^/v1/servers/\\d+$',
  vultr: '^/v2/instances/[^/]+$',
  upcloud: '^/1\\.3/server/[^/]+$',
};

/** Changes a simulated provider's behaviour while the system runs (`POST /_sandbox/<provider>/config`). */
export async function configureSandbox(sys: TestSystem, provider: ProviderName, patch: Record<string, unknown>): Promise<void> {
  const res = await http(sys.sandbox.url, 'POST', `/_sandbox/${provider}/config`, { token: sys.sandbox.token, body: patch });
  if (res.status !== 200) throw new Error(`sandbox config for ${provider} answered ${res.status}: ${JSON.stringify(res.body)}`);
}

/** Creates a server on `provider` through the API and waits until its create completed. */
export async function createdServer(sys: TestSystem, provider: ProviderName, hostname: string): Promise<{ serverId: string; providerId: string }> {
  const { plan, zone } = PROVIDER_REQUESTS[provider];
  const op = await sys.createServer({ provider, plan, zone, hostname });
  const done = await sys.waitForStatus(op.id, ['completed', 'failed', 'cancelled'], 30000);
  if (done.status !== 'completed') throw new Error(`create of ${hostname} ended ${done.status}: ${JSON.stringify(done.error)}`);
  return { serverId: done.result!.server_id as string, providerId: done.result!.provider_id as string };
}

/**
 * Starts a create on `provider` and returns once its server exists at the provider and in the
 * inventory, while it still boots (give the system slow boots): a create to cancel midway.
 */
export async function bootingServer(sys: TestSystem, provider: ProviderName, hostname: string): Promise<{ operationId: string; serverId: string; providerId: string }> {
  const { plan, zone } = PROVIDER_REQUESTS[provider];
  const op = await sys.createServer({ provider, plan, zone, hostname });
  const [made] = await sys.eventually(async () => {
    const marked = await sys.serversMarkedBy(provider, op.id);
    return marked.length > 0 ? marked : undefined;
  }, 'the server to exist', 10000);
  const serverId = serverIdFor(provider, made!.providerId);
  await sys.eventually(async () => ((await sys.request('GET', `/v1/servers/${serverId}/status`)).status === 200 ? true : undefined), 'the inventory entry', 10000);
  return { operationId: op.id, serverId, providerId: made!.providerId };
}

/** How many requests a fault rule has applied to so far. */
export function matched(sys: TestSystem, ruleId: string): number {
  return sys.sandbox.faults.list().find((r) => r.id === ruleId)?.matched ?? 0;
}
