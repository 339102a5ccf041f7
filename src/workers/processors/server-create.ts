import { checkCreateCached } from '../../core/servers/create-check.js';
import type { CreateServerRequest } from '../../core/servers/requests.js';
import { withEngineKey } from '../../core/ssh/cloud-init.js';
import { engineKey } from '../../core/ssh/engine-key.js';
import { secretBox } from '../../core/secrets/secret-key.js';
import { serverIdFor } from '../../core/servers/inventory.js';
import type { CreateServerInput, ProviderServer } from '../../common/provider.js';
import type { CoreContext } from '../../core/context.js';
import type { Operation } from '../../core/operations/model.js';
import { Journal } from '../journal.js';
import type { Processor } from '../run-operation.js';

/**
 * The inventory entries a create may have written: the server its journal kept (the create
 * step's result), or, when it died between the create and the journal, the entries its
 * operation id wrote first. Nothing when the create was never begun.
 */
async function entriesWrittenBy(ctx: CoreContext, op: Operation, journal: Journal): Promise<Array<{ id: string; providerId: string; hostname: string }>> {
  const kept = journal.kept<{ server: ProviderServer }>('create');
  if (kept) return [{ id: serverIdFor(kept.server.provider, kept.server.providerId), providerId: kept.server.providerId, hostname: kept.server.name }];
  if (!journal.begun('create')) return [];
  const written = await ctx.inventory.writtenFirstBy(op.provider, op.id);
  return written.map((r) => ({ id: r.id, providerId: r.provider_id, hostname: r.hostname }));
}

interface CleanupTarget {
  providerId: string;
  hostname: string;
}

/**
 * Creates one server, at most once per operation: the operation id rides on the server as
 * its marker, and every attempt first looks for a server an earlier attempt made.
 */
export const serverCreate: Processor = async (op, { ctx, provider, sealed, call, progress, onCancel, step, waitFor }) => {
  const request = op.request as unknown as CreateServerRequest;
  // Every server the engine makes lets the engine in: task services are installed over SSH.
  const { publicKey } = await engineKey(ctx.redis, ctx.keys, ctx.config.ssh, secretBox(ctx.config));
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
    const plan = await checkCreateCached(ctx, provider, input, call);
    const quota = (op.request as { quota?: unknown }).quota;
    return { check_mode: true, would_create: plan, ...(quota ? { quota } : {}) };
  }

  // Registered before the create request goes out: a create aborted in flight may still
  // have made a server, and only the marker can find it. A cleanup cut short by a crash runs
  // again in full: an earlier one may have deleted the server and died before the inventory
  // heard of it, so every entry this create wrote is looked up and removed too, leaving none
  // `provisioning` once the operation is over.
  onCancel(async (signal) => {
    const journal = await Journal.load(ctx.redis, ctx.keys, op.id);
    // Servers an earlier try of this cleanup found: it may have deleted one and died (or met
    // a provider error) before hearing back, and then neither the marker nor the inventory
    // finds it any more; it is still this create's server and the result still names it.
    const noted = journal.cleanupNotes<CleanupTarget>();
    const servers = new Map<string, CleanupTarget>(noted);
    const made = await provider.findByMarker(op.id, { signal });
    if (made) servers.set(serverIdFor(made.provider, made.providerId), { providerId: made.providerId, hostname: made.name });
    for (const entry of await entriesWrittenBy(ctx, op, journal)) if (!servers.has(entry.id)) servers.set(entry.id, entry);
    const cleaned: Array<Record<string, unknown>> = [];
    for (const [serverId, server] of servers) {
      if (!noted.has(serverId)) await journal.noteCleanup(serverId, server);
      // Waits until the server is gone; one already gone (404) is no error.
      const { existed } = await provider.deleteServer(server.providerId, { signal });
      await ctx.inventory.remove(serverId);
      cleaned.push({
        resource: 'server',
        provider: provider.name,
        provider_id: server.providerId,
        hostname: server.hostname,
        action: existed || noted.has(serverId) ? 'deleted' : 'removed from inventory: already gone at the provider',
      });
    }
    return cleaned;
  });

  // The intent mark tells a rerun that an earlier run may have reached the provider: only
  // then is there a server to look for, so a first run costs no lookup.
  const owner = { workspace: op.workspace, operationId: op.id };
  // The inventory record this run's create step wrote, when it ran in this run (not replayed).
  let written: Awaited<ReturnType<typeof ctx.inventory.upsert>> | undefined;
  const created = await step(
    'create',
    async (rerun) => {
      let found: ProviderServer | null = null;
      if (rerun) {
        await progress('lookup', 'looking for a server made by an earlier attempt of this operation');
        found = await provider.findByMarker(op.id, call);
      }
      if (found) await progress('resume', `found ${provider.name} server ${found.providerId} from an earlier attempt; not creating another`);
      else await progress('create', `creating ${request.hostname} (${request.plan} in ${request.zone}) on ${provider.name}`);
      const outcome = found ? { server: found, wait: provider.runningWait(found) } : await provider.createServer(input, call);
      // First in the new server's lane before the inventory shows it, in the same script:
      // anything asked of the server from then on waits for this create to finish.
      written = await ctx.inventory.upsert(outcome.server, owner, { joinLane: true });
      return { ...outcome, resumed: found !== null };
    },
    { intent: true },
  );
  // The create has been sent and its result is in the journal: every later run replays it (or,
  // had it died before the journal, finds the server by its marker), so nothing needs the
  // user_data again. It may hold secrets: drop it from the record now, not when the server boots.
  // A create without sealed inputs (none were given, or an earlier run dropped them) has none to drop.
  if (Object.keys(sealed).length > 0) await ctx.store.dropSealed(op.id);

  const server = created.wait ? await waitFor('running', created.wait) : created.server;
  if (!server) throw new Error(`${provider.name} server ${created.server.providerId} ended its wait without a server`);
  await progress('running', `${provider.name} server ${server.providerId} is running at ${server.ipv4 ?? 'no public IPv4'}`);
  // A server that was running as soon as this run made it was written to the inventory just
  // now, as it is; one that was waited for (or made by an earlier run) is written as it is now.
  const record = written && !created.wait && server === created.server ? written : await ctx.inventory.upsert(server, owner);
  return { server_id: record.id, ip_address: record.ip_address, provider_id: record.provider_id, resumed: created.resumed, server: record };
};
