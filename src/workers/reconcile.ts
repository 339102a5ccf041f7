import type { CoreContext } from '../core/context.js';
import { appendEvent } from '../core/events/append.js';
import type { ServerRecord } from '../core/servers/inventory.js';
import { isRateLimited } from '../providers/adapter-kit.js';
import type { CallContext, Provider, ProviderName, ProviderServer } from '../common/provider.js';

export interface ReconcileReport {
  checked: number;
  gone: string[];
  changed: string[];
  /** Providers whose list failed: their servers were left alone, not marked gone. */
  errors: Partial<Record<ProviderName, string>>;
}

const LIST_TIMEOUT_MS = 120000;

/**
 * A provider whose listing lacks what only each server's own read carries (UpCloud's summaries
 * have no addresses): its listServers reads every server in full, hundreds of requests per
 * reconcile on a big account, taken from the same budget the account's creates and polls
 * need. Such a provider offers its listing as it is, and the reconcile reads in full only the
 * few servers whose record needs it.
 */
export interface ListsServerSummaries {
  /** Every server as the listing shows it; `ipv4` is always null (a summary carries no addresses). */
  listServerSummaries(ctx: CallContext): Promise<ProviderServer[]>;
  /** One server in full (its addresses), or null when it is gone; one request. */
  readServerDetails(providerId: string, ctx: CallContext): Promise<ProviderServer | null>;
}

function listsServerSummaries(provider: Provider): provider is Provider & ListsServerSummaries {
  const p = provider as Partial<ListsServerSummaries>;
  return typeof p.listServerSummaries === 'function' && typeof p.readServerDetails === 'function';
}

/**
 * Servers read in full per provider and reconcile. Addresses do not change behind our back in
 * the normal course (UpCloud keeps them while a server is stopped), so only a record without
 * one is read, and a handful per run is enough to fill them in over a few runs.
 */
const MAX_DETAIL_READS = 10;
/** When each record was last read in full, per provider, so the reads go round rather than to the same few (per process). */
const detailReadAt = new Map<ProviderName, Map<string, number>>();

/** The fields a provider can change behind our back, as the inventory names them. */
function drift(local: ServerRecord, remote: ProviderServer): Record<string, [unknown, unknown]> {
  const changes: Record<string, [unknown, unknown]> = {};
  const compare = (field: string, before: unknown, after: unknown) => {
    if (before !== after) changes[field] = [before, after];
  };
  compare('status', local.status, remote.status);
  compare('plan', local.plan, remote.plan);
  compare('ip_address', local.ip_address, remote.ipv4);
  compare('hostname', local.hostname, remote.name);
  return changes;
}

/**
 * Brings the inventory in line with what each provider reports: servers deleted out of band
 * are marked gone, servers changed out of band are updated, and each drift is an event.
 */
export async function reconcileOnce(ctx: CoreContext, providers: Map<ProviderName, Provider>): Promise<ReconcileReport> {
  const report: ReconcileReport = { checked: 0, gone: [], changed: [], errors: {} };
  for (const [name, provider] of providers) {
    const call = { signal: AbortSignal.timeout(LIST_TIMEOUT_MS) };
    const summaries = listsServerSummaries(provider);
    let remote: ProviderServer[];
    try {
      remote = summaries ? await provider.listServerSummaries(call) : await provider.listServers(call);
    } catch (err) {
      report.errors[name] = (err as Error).message;
      ctx.logger.warn('reconcile could not list servers', { provider: name, error: (err as Error).message });
      continue;
    }
    const byId = new Map(remote.map((s) => [s.providerId, s]));
    const locals = await ctx.inventory.allOf(name);
    if (summaries) await readWhatSummariesLack(ctx, provider, locals, byId, call);
    for (const local of locals) {
      report.checked++;
      const found = byId.get(local.provider_id);
      const differs = !found ? local.status !== 'gone' : Object.keys(drift(local, found)).length > 0;
      // A server whose create is still under way changes because of the engine, not behind its
      // back: its operation records the outcome when its wait is over.
      if (differs && (await createInFlight(ctx, local))) continue;
      if (!found) {
        if (local.status === 'gone') continue;
        await ctx.inventory.markGone(local.id);
        report.gone.push(local.id);
        await appendEvent(ctx, 'drift', { server_id: local.id, provider: name, workspace: local.workspace, message: `${name} server ${local.provider_id} (${local.hostname}) no longer exists at the provider` });
        continue;
      }
      const changes = drift(local, found);
      if (Object.keys(changes).length === 0) continue;
      await ctx.inventory.upsert(found, { workspace: local.workspace, operationId: local.operation_id });
      report.changed.push(local.id);
      const said = Object.entries(changes).map(([f, [a, b]]) => `${f} ${String(a)} → ${String(b)}`).join(', ');
      await appendEvent(ctx, 'drift', { server_id: local.id, provider: name, workspace: local.workspace, message: `${name} server ${local.provider_id} changed outside the engine: ${said}`, changes: JSON.stringify(changes) });
    }
  }
  return report;
}

/**
 * Makes `byId` hold, for each record, what can be compared with it: a summary stands in with
 * the record's own address (what it lacks is not a drift), and a record without an address
 * whose server is running is read in full (up to MAX_DETAIL_READS, those read least recently
 * first), since only the details say where it can be reached. A server the read finds gone
 * leaves the map, to be marked gone like one missing from the listing.
 */
async function readWhatSummariesLack(
  ctx: CoreContext,
  provider: Provider & ListsServerSummaries,
  locals: ServerRecord[],
  byId: Map<string, ProviderServer>,
  call: CallContext,
): Promise<void> {
  const wanting: ServerRecord[] = [];
  const readAt = detailReadAt.get(provider.name) ?? new Map<string, number>();
  detailReadAt.set(provider.name, readAt);
  for (const local of locals) {
    const summary = byId.get(local.provider_id);
    if (!summary) continue;
    byId.set(local.provider_id, { ...summary, ipv4: local.ip_address });
    if (!local.ip_address && summary.status === 'running' && local.status !== 'gone') wanting.push(local);
  }
  wanting.sort((a, b) => (readAt.get(a.id) ?? 0) - (readAt.get(b.id) ?? 0));
  for (const local of wanting.slice(0, MAX_DETAIL_READS)) {
    let server: ProviderServer | null;
    try {
      server = await provider.readServerDetails(local.provider_id, call);
    } catch (err) {
      // The account's budget is short: the rest wait for a later run, as the summaries stand.
      if (isRateLimited(err)) break;
      ctx.logger.warn('reconcile could not read a server', { provider: local.provider, provider_id: local.provider_id, error: (err as Error).message });
      continue;
    }
    readAt.set(local.id, Date.now());
    if (server) byId.set(local.provider_id, server);
    else byId.delete(local.provider_id);
  }
  const wanted = new Set(wanting.map((l) => l.id));
  for (const id of readAt.keys()) if (!wanted.has(id)) readAt.delete(id);
}

async function createInFlight(ctx: CoreContext, local: ServerRecord): Promise<boolean> {
  const status = await ctx.redis.hget(ctx.keys.operation(local.operation_id), 'status');
  return status === 'pending' || status === 'running';
}
