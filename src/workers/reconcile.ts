import type { CoreContext } from '../core/context.js';
import { appendEvent } from '../core/events/append.js';
import type { ServerRecord } from '../core/servers/inventory.js';
import type { Provider, ProviderName, ProviderServer } from '../providers/types.js';

export interface ReconcileReport {
  checked: number;
  gone: string[];
  changed: string[];
  /** Providers whose list failed: their servers were left alone, not marked gone. */
  errors: Partial<Record<ProviderName, string>>;
}

const LIST_TIMEOUT_MS = 120000;

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
    let remote: ProviderServer[];
    try {
      remote = await provider.listServers({ signal: AbortSignal.timeout(LIST_TIMEOUT_MS) });
    } catch (err) {
      report.errors[name] = (err as Error).message;
      ctx.logger.warn('reconcile could not list servers', { provider: name, error: (err as Error).message });
      continue;
    }
    const byId = new Map(remote.map((s) => [s.providerId, s]));
    for (const local of await ctx.inventory.allOf(name)) {
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

async function createInFlight(ctx: CoreContext, local: ServerRecord): Promise<boolean> {
  const status = await ctx.redis.hget(ctx.keys.operation(local.operation_id), 'status');
  return status === 'pending' || status === 'running';
}
