import type { CreateServerRequest } from '../../core/servers/requests.js';
import { withEngineKey } from '../../core/ssh/cloud-init.js';
import { engineKey } from '../../core/ssh/engine-key.js';
import { serverIdFor } from '../../core/servers/inventory.js';
import type { CreateServerInput, ProviderServer } from '../../providers/types.js';
import type { Processor } from '../run-operation.js';

/**
 * Creates one server, at most once per operation: the operation id rides on the server as
 * its marker, and every attempt first looks for a server an earlier attempt made.
 */
export const serverCreate: Processor = async (op, { ctx, provider, sealed, call, progress, onCancel }) => {
  const request = op.request as unknown as CreateServerRequest;
  // Every server the engine makes lets the engine in: task services are installed over SSH.
  const { publicKey } = await engineKey(ctx.redis, ctx.keys, ctx.config.ssh);
  const input: CreateServerInput = {
    name: request.hostname,
    plan: request.plan,
    zone: request.zone,
    image: request.image ?? provider.defaultImage,
    sshKeys: request.ssh_keys,
    userData: withEngineKey(sealed.user_data, publicKey),
    tags: request.tags ?? [],
    marker: op.id,
  };

  if (request.check_mode) {
    await progress('validate', `checking zone, plan and image with ${provider.name}`);
    const plan = await provider.planCreate(input, call);
    return { check_mode: true, would_create: plan };
  }

  // Registered before the create request goes out: a create aborted in flight may still
  // have made a server, and only the marker can find it.
  onCancel(async (signal) => {
    const made = await provider.findByMarker(op.id, { signal });
    if (!made) return [];
    await provider.deleteServer(made.providerId, { signal });
    await ctx.inventory.remove(serverIdFor(made.provider, made.providerId));
    return [{ resource: 'server', provider: made.provider, provider_id: made.providerId, hostname: made.name, action: 'deleted' }];
  });

  // The claim counts attempts atomically: the first one can have no predecessor to find.
  let server: ProviderServer | null = null;
  if (op.attempt > 1) {
    await progress('lookup', 'looking for a server made by an earlier attempt of this operation');
    server = await provider.findByMarker(op.id, call);
  }
  const resumed = server !== null;
  if (server) {
    await progress('resume', `found ${provider.name} server ${server.providerId} from an earlier attempt; not creating another`);
  } else {
    await progress('create', `creating ${request.hostname} (${request.plan} in ${request.zone}) on ${provider.name}`);
    server = await provider.createServer(input, call);
  }
  const owner = { workspace: op.workspace, operationId: op.id };
  await ctx.inventory.upsert(server, owner);

  await progress('wait', `waiting for ${provider.name} server ${server.providerId} to be running`);
  server = await provider.waitUntilRunning(server.providerId, call);
  const record = await ctx.inventory.upsert(server, owner);
  return { server_id: record.id, ip_address: record.ip_address, provider_id: record.provider_id, resumed, server: record };
};
