/**
 * Quotas per workspace: how many servers, vCPUs and how much monthly cost (per currency, from
 * the catalogue's prices) its servers may add up to. A workspace's use is its servers in the
 * inventory plus the creates accepted and not yet finished. Creates into a workspace with
 * quotas are admitted one at a time under a short per-workspace lease, so many at once
 * cannot all take the last slot.
 */
import { randomUUID } from 'node:crypto';
import type { Catalog } from '../catalog.js';
import type { CoreContext } from '../context.js';
import { EngineError, ErrorCodes } from '../../common/errors.js';
import { holdLease, releaseLease } from '../lease.js';
import type { Operation } from '../operations/model.js';
import type { ProviderName } from '../../common/provider.js';
import type { Quotas } from './store.js';
import { stepOperationId, type WorkflowRequest } from '../workflows/model.js';

export interface Usage {
  servers: number;
  vcpus: number;
  monthly_cost: Record<string, number>;
  /** Plans the catalogue could not price or size right now: counted as servers only. */
  unpriced?: string[];
}

/** What one create adds: a server of this plan. */
export interface Need {
  provider: ProviderName;
  plan: string;
}

const ADMIT_LEASE_MS = 10_000;
const ADMIT_WAIT_MS = 15_000;

interface PlanSize {
  vcpus: number;
  price: number;
  currency: string;
}

async function planSizes(catalog: Catalog, providers: Set<ProviderName>): Promise<Map<string, PlanSize>> {
  const sizes = new Map<string, PlanSize>();
  await Promise.all(
    [...providers].map(async (provider) => {
      if (!catalog.has(provider)) return;
      const { items } = await catalog.list('plans', provider);
      for (const p of items) sizes.set(`${p.provider}:${p.id}`, { vcpus: p.vcpus, price: p.price_monthly, currency: p.currency });
    }),
  );
  return sizes;
}

/** Open operations of the workspace matching `filter`, by id: read pending before running, so one that starts in between is seen (twice, once kept). */
async function openOperations(ctx: CoreContext, filter: { type?: 'server.create'; typePrefix?: string }, workspace: string): Promise<Map<string, Operation>> {
  const open = new Map<string, Operation>();
  for (const status of ['pending', 'running'] as const) {
    let cursor: string | null = null;
    do {
      const page = await ctx.store.list({ status, workspace, ...filter }, 200, cursor);
      for (const op of page.items) open.set(op.id, op);
      cursor = page.next;
    } while (cursor !== null);
  }
  return open;
}

/** The server a workflow's create step will make. */
export function needOfStep(parameters: Record<string, unknown>, fallback: ProviderName): Need {
  return { provider: (typeof parameters.provider === 'string' ? parameters.provider : fallback) as ProviderName, plan: String(parameters.plan) };
}

/**
 * Every server the workspace has or will have, each once, by the operation that makes it:
 * its servers; its open creates (a create that already wrote its server counts as that
 * server); and the creates its open workflows will still start (a workflow's servers count
 * from the moment it is accepted). Read in the order work moves (workflows, then creates,
 * then servers), so a create that moves on between two reads is seen twice and kept once,
 * never missed.
 */
async function serversToCount(ctx: CoreContext, workspace: string): Promise<Need[]> {
  const workflows = await openOperations(ctx, { typePrefix: 'workflow.' }, workspace);
  const creates = await openOperations(ctx, { type: 'server.create' }, workspace);
  const servers = await ctx.inventory.allIn(workspace);
  const counted = new Map<string, Need>();
  for (const s of servers) counted.set(s.operation_id || `server:${s.id}`, { provider: s.provider, plan: s.plan });
  for (const op of creates.values()) {
    if ((op.request as { check_mode?: boolean }).check_mode === true || counted.has(op.id)) continue;
    counted.set(op.id, { provider: op.provider, plan: (op.request as { plan: string }).plan });
  }
  const planned = [...workflows.values()].flatMap((wf) =>
    ((wf.request as unknown as WorkflowRequest).steps ?? [])
      .filter((step) => step.type === 'server.create')
      .map((step) => ({ id: stepOperationId(wf.id, step.id), need: needOfStep(step.parameters, wf.provider) }))
      .filter((p) => !counted.has(p.id)),
  );
  // A step's operation that exists and is over made its server (counted above) or nothing.
  const stepOps = new Map((await ctx.store.getMany(planned.map((p) => p.id))).map((op) => [op.id, op]));
  for (const p of planned) {
    const op = stepOps.get(p.id);
    if (!op || op.status === 'pending' || op.status === 'running') counted.set(p.id, p.need);
  }
  return [...counted.values()];
}

function sum(needs: Need[], sizes: Map<string, PlanSize>, into: Usage = { servers: 0, vcpus: 0, monthly_cost: {} }): Usage {
  const usage: Usage = { servers: into.servers, vcpus: into.vcpus, monthly_cost: { ...into.monthly_cost }, ...(into.unpriced ? { unpriced: [...into.unpriced] } : {}) };
  for (const { provider, plan } of needs) {
    usage.servers++;
    const size = sizes.get(`${provider}:${plan}`);
    if (!size) {
      usage.unpriced = [...new Set([...(usage.unpriced ?? []), `${provider}:${plan}`])];
      continue;
    }
    usage.vcpus += size.vcpus;
    usage.monthly_cost[size.currency] = round((usage.monthly_cost[size.currency] ?? 0) + size.price);
  }
  return usage;
}

/** The workspace's use now, and with `needs` added: one reading, so the two always agree. */
async function measure(ctx: CoreContext, catalog: Catalog, workspace: string, needs: Need[]): Promise<{ usage: Usage; after: Usage }> {
  const counted = await serversToCount(ctx, workspace);
  const sizes = await planSizes(catalog, new Set([...counted, ...needs].map((p) => p.provider)));
  const usage = sum(counted, sizes);
  return { usage, after: sum(needs, sizes, usage) };
}

/** The workspace's servers and open creates, summed. */
export async function workspaceUsage(ctx: CoreContext, catalog: Catalog, workspace: string): Promise<Usage> {
  return (await measure(ctx, catalog, workspace, [])).usage;
}

const round = (n: number) => Math.round(n * 100) / 100;

/** The limits `after` passes, each naming the limit, the use now and what the request needs. */
export function exceeded(quotas: Quotas, now: Usage, after: Usage): Array<{ limit: string; max: number; current: number; requested: number }> {
  const over: Array<{ limit: string; max: number; current: number; requested: number }> = [];
  if (quotas.max_servers !== undefined && after.servers > quotas.max_servers) {
    over.push({ limit: 'max_servers', max: quotas.max_servers, current: now.servers, requested: after.servers - now.servers });
  }
  if (quotas.max_vcpus !== undefined && after.vcpus > quotas.max_vcpus) {
    over.push({ limit: 'max_vcpus', max: quotas.max_vcpus, current: now.vcpus, requested: after.vcpus - now.vcpus });
  }
  for (const [currency, max] of Object.entries(quotas.max_monthly_cost ?? {})) {
    const before = now.monthly_cost[currency] ?? 0;
    const total = after.monthly_cost[currency] ?? 0;
    if (total > max) over.push({ limit: `max_monthly_cost.${currency}`, max, current: before, requested: round(total - before) });
  }
  return over;
}

export class QuotaExceededError extends EngineError {
  constructor(workspace: string, over: ReturnType<typeof exceeded>) {
    const first = over[0]!;
    super(
      ErrorCodes.QUOTA_EXCEEDED,
      `insufficient quota in workspace '${workspace}': ${first.limit} is ${first.max}, ${first.current} in use, the request needs ${first.requested}`,
      { workspace, exceeded: over },
    );
  }
}

/** What a check-mode create would do to the workspace's quotas. */
export interface QuotaEffect {
  fits: boolean;
  usage: Usage;
  after: Usage;
  limits: Quotas;
  exceeded?: ReturnType<typeof exceeded>;
}

export async function quotaEffect(ctx: CoreContext, catalog: Catalog, workspace: string, needs: Need[]): Promise<QuotaEffect | null> {
  const limits = await ctx.workspaces.quotas(workspace);
  if (Object.keys(limits).length === 0) return null;
  const { usage, after } = await measure(ctx, catalog, workspace, needs);
  const over = exceeded(limits, usage, after);
  return { fits: over.length === 0, usage, after, limits, ...(over.length ? { exceeded: over } : {}) };
}

/**
 * Runs `submit` when the workspace's quotas leave room for `needs`, else 403 QUOTA_EXCEEDED.
 * The check and the write happen under the workspace's admission lease, so the write is
 * counted before the next create is checked.
 */
export async function admitWithinQuota<T>(ctx: CoreContext, catalog: Catalog, workspace: string, needs: Need[], submit: () => Promise<T>, known?: Quotas): Promise<T> {
  // `known`: the quotas as this request already read them (its workspace check), saving a read.
  if (Object.keys(known ?? (await ctx.workspaces.quotas(workspace))).length === 0) return submit();
  const key = ctx.keys.lock(`quota:${workspace}`);
  const holder = randomUUID();
  const deadline = Date.now() + ADMIT_WAIT_MS;
  while (!(await holdLease(ctx.redis, key, holder, ADMIT_LEASE_MS))) {
    if (Date.now() > deadline) throw new EngineError(ErrorCodes.CONFLICT, `workspace '${workspace}' is admitting other creates; try again`);
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
  }
  try {
    const effect = await quotaEffect(ctx, catalog, workspace, needs);
    if (effect && !effect.fits) throw new QuotaExceededError(workspace, effect.exceeded!);
    return await submit();
  } finally {
    await releaseLease(ctx.redis, key, holder);
  }
}
