import type { CoreContext } from '../context.js';
import { ValidationError } from '../../common/errors.js';
import type { ServerRecord } from '../servers/inventory.js';
import type { WorkflowStep, WorkflowType } from './model.js';

/** Servers of a cluster carry this tag, so `cluster_delete` can find them again. */
export function clusterTag(name: string): string {
  return `cluster:${name}`;
}

function createStep(id: string, p: Record<string, unknown>, hostname: string, tags: string[]): WorkflowStep {
  const parameters: Record<string, unknown> = { provider: p.provider, plan: p.plan, zone: p.zone, hostname, tags };
  if (p.image !== undefined) parameters.image = p.image;
  if (p.ssh_keys !== undefined) parameters.ssh_keys = p.ssh_keys;
  return { id, type: 'server.create', depends_on: [], parameters };
}

/** The step graph of a built-in workflow type, from its (already schema-checked) parameters. */
export async function buildSteps(ctx: CoreContext, type: Exclude<WorkflowType, 'custom'>, workspace: string, p: Record<string, unknown>): Promise<WorkflowStep[]> {
  switch (type) {
    case 'cluster_create': {
      const name = p.cluster_name as string;
      // Nodes are created in parallel; each task service is then installed on all of them.
      const nodes = Array.from({ length: p.node_count as number }, (_, i) => createStep(`node-${i + 1}`, p, `${name}-${i + 1}`, [clusterTag(name)]));
      const services = (p.taskservs as string[]).map<WorkflowStep>((service) => ({
        id: `taskserv-${service}`,
        type: 'taskserv.create',
        depends_on: nodes.map((n) => n.id),
        parameters: { name: service, servers: nodes.map((n) => `\${steps.${n.id}.result.server_id}`) },
      }));
      return [...nodes, ...services];
    }
    case 'server_batch_create': {
      const prefix = p.hostname_prefix as string;
      return Array.from({ length: p.count as number }, (_, i) => createStep(`server-${i + 1}`, p, `${prefix}-${i + 1}`, (p.tags as string[] | undefined) ?? []));
    }
    case 'cluster_delete': {
      const servers = await clusterServers(ctx, workspace, p.cluster_name as string);
      if (servers.length === 0) throw new ValidationError([{ field: 'parameters.cluster_name', problem: `no servers of cluster '${p.cluster_name}' in workspace '${workspace}'` }]);
      return servers.map((s) => ({ id: `delete-${s.id}`, type: 'server.delete', depends_on: [], parameters: { server_id: s.id, force: false } }));
    }
  }
}

async function clusterServers(ctx: CoreContext, workspace: string, name: string): Promise<ServerRecord[]> {
  const found: ServerRecord[] = [];
  let cursor: string | null = null;
  do {
    const page = await ctx.inventory.list(200, cursor, { workspace });
    found.push(...page.items.filter((s) => s.tags.includes(clusterTag(name))));
    cursor = page.next;
  } while (cursor);
  return found;
}

/** The result a completed workflow reports, shaped for its type. */
export function workflowResult(type: WorkflowType, parameters: Record<string, unknown>, results: Map<string, Record<string, unknown> | null>, steps: WorkflowStep[]): Record<string, unknown> {
  const created = steps.filter((s) => s.type === 'server.create').map((s) => results.get(s.id)?.server ?? null);
  switch (type) {
    case 'cluster_create':
      return { cluster_name: parameters.cluster_name, servers: created, taskservs: parameters.taskservs };
    case 'server_batch_create':
      return { servers: created };
    case 'cluster_delete':
      return { cluster_name: parameters.cluster_name, deleted: steps.map((s) => s.parameters.server_id) };
    case 'custom':
      return { steps: Object.fromEntries(steps.map((s) => [s.id, results.get(s.id) ?? null])) };
  }
}
