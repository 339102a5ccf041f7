import type { Command } from 'commander';
import { defaultWorkspace, fieldsFrom, withOutput, withWait, workspaceOption, type CliContext } from '../context.js';
import { collect, parsePositiveInt } from '../durations.js';
import { details, emit, paint } from '../output.js';
import { action } from '../run.js';
import type { Operation, Server } from '../types.js';
import { operationDetails, serverDetails, serversTable } from '../views.js';
import { waitAndReport } from '../wait.js';

/** The 202 answer of a request that started an operation: shown, or followed with --wait. */
export async function accepted(ctx: CliContext, op: Operation, render?: (op: Operation) => Promise<string> | string): Promise<number> {
  if (ctx.opts.wait) return waitAndReport(ctx, op, { timeoutMs: ctx.opts.timeout, render: render ?? (op.type.startsWith('server.') ? showServer(ctx) : undefined) });
  emit(ctx.format, op, () => `${op.type} accepted: operation ${op.id} (${op.status})\nfollow it: pe ops wait ${op.id}\n`);
  return 0;
}

/** A finished create or change, shown as the server it left (from the result, or read again). */
function showServer(ctx: CliContext) {
  return async (op: Operation): Promise<string> => {
    const fromResult = op.result?.server as Server | undefined;
    const id = (op.result?.server_id ?? op.target?.server_id) as string | undefined;
    if (op.status !== 'completed') return operationDetails(op);
    if (op.type === 'server.delete') return details([['server', id], ['deleted', true]]);
    if (op.result?.would_create) return operationDetails(op);
    let server = fromResult;
    if (id) {
      try {
        server = (await ctx.client.get<Server>(`/v1/servers/${encodeURIComponent(id)}/status`)).body;
      } catch {
        // the result's copy will do
      }
    }
    return server ? serverDetails(server) : operationDetails(op);
  };
}

export function registerServers(program: Command): void {
  const servers = program.command('servers').description('create, list, change and delete servers');

  const create = servers
    .command('create')
    .description('create a server')
    .requiredOption('--provider <name>', 'digitalocean, hetzner, vultr or upcloud')
    .requiredOption('--plan <plan>', 'the provider plan (see: pe catalog plans)')
    .requiredOption('--zone <zone>', 'the provider region / location / zone (see: pe catalog regions)')
    .requiredOption('--hostname <name>', 'the server name')
    .option('--tag <tag>', 'a tag (repeat for more)', collect)
    .option('--image <image>', "an image slug (the provider's Ubuntu LTS when left out)")
    .option('--ssh-key <key>', 'an SSH key to install (repeat for more)', collect)
    .option('--check', 'only check the request against the catalogue and show what would be created');
  workspaceOption(create);
  fieldsFrom(create, { tags: '--tag', ssh_keys: '--ssh-key', check_mode: '--check' });
  withOutput(withWait(create)).action(
    action(async (ctx) => {
      const o = ctx.opts;
      const body = {
        workspace: defaultWorkspace(o),
        provider: o.provider,
        plan: o.plan,
        zone: o.zone,
        hostname: o.hostname,
        check_mode: Boolean(o.check),
        ...(o.tag ? { tags: o.tag } : {}),
        ...(o.image ? { image: o.image } : {}),
        ...(o.sshKey ? { ssh_keys: o.sshKey } : {}),
      };
      const op = (await ctx.client.request<Operation>('POST', '/v1/servers/create', { body })).body;
      return accepted(ctx, op, showServer(ctx));
    }),
  );

  withOutput(
    servers
      .command('list')
      .description('the servers the engine manages, newest first')
      .option('--workspace <name>', 'only this workspace')
      .option('--provider <name>', 'only this provider')
      .option('--limit <n>', 'at most this many per page (1–200)', parsePositiveInt)
      .option('--all', 'every page, not only the first'),
  ).action(
    action(async (ctx) => {
      const o = ctx.opts;
      const items = await ctx.client.list<Server>('/v1/servers', { workspace: o.workspace, provider: o.provider, limit: o.limit }, Boolean(o.all));
      emit(ctx.format, items, () => serversTable(items));
    }),
  );

  withOutput(servers.command('get').description('one server').argument('<id>', 'server id (srv-…)')).action(
    action(async (ctx, id: string) => {
      const server = (await ctx.client.get<Server>(`/v1/servers/${encodeURIComponent(id)}/status`)).body;
      emit(ctx.format, server, () => serverDetails(server));
    }),
  );

  withOutput(withWait(servers.command('delete').description('delete a server').argument('<id>', 'server id (srv-…)').option('--force', 'delete even if the provider reports it busy'))).action(
    action(async (ctx, id: string) => {
      const body = ctx.opts.force ? { force: true } : undefined;
      const op = (await ctx.client.request<Operation>('DELETE', `/v1/servers/${encodeURIComponent(id)}`, { body })).body;
      return accepted(ctx, op, showServer(ctx));
    }),
  );

  for (const [name, act, what] of [
    ['power-on', 'power_on', 'power a server on'],
    ['power-off', 'power_off', 'power a server off'],
    ['reboot', 'reboot', 'reboot a server'],
  ] as const) {
    withOutput(withWait(servers.command(name).description(what).argument('<id>', 'server id (srv-…)'))).action(
      action(async (ctx, id: string) => {
        const op = (await ctx.client.request<Operation>('POST', `/v1/servers/${encodeURIComponent(id)}/actions`, { body: { action: act } })).body;
        return accepted(ctx, op, showServer(ctx));
      }),
    );
  }

  withOutput(
    withWait(
      servers
        .command('resize')
        .description('change the plan of a server (powering it off and on where the provider needs it)')
        .argument('<id>', 'server id (srv-…)')
        .requiredOption('--plan <plan>', 'the new plan'),
    ),
  ).action(
    action(async (ctx, id: string) => {
      const op = (await ctx.client.request<Operation>('PATCH', `/v1/servers/${encodeURIComponent(id)}`, { body: { plan: ctx.opts.plan } })).body;
      return accepted(ctx, op, showServer(ctx));
    }),
  );

  withOutput(servers.command('console').description("the provider's console access for a server (Hetzner, Vultr)").argument('<id>', 'server id (srv-…)')).action(
    action(async (ctx, id: string) => {
      const access = (await ctx.client.request<Record<string, unknown>>('POST', `/v1/servers/${encodeURIComponent(id)}/console`)).body;
      emit(ctx.format, access, () =>
        details([
          ['server', access.server_id],
          ['provider', access.provider],
          ['type', access.type],
          ['url', access.url],
          ['password', access.password !== undefined ? String(access.password) : undefined],
        ]) + (access.password !== undefined ? paint('the password is shown only this once\n', 'gray') : ''),
      );
    }),
  );
}
