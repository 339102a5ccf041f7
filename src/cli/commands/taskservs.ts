import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import YAML from 'yaml';
import type { TaskservRecord as Taskserv } from '../../core/taskservs/store.js';
import { defaultWorkspace, fieldsFrom, withOutput, withWait, workspaceOption } from '../context.js';
import { collect, parsePositiveInt } from '../durations.js';
import { UsageError } from '../errors.js';
import { details, emit, status, table } from '../output.js';
import { action } from '../run.js';
import type { Operation } from '../types.js';
import { accepted } from './servers.js';

interface CatalogEntry {
  name: string;
  description?: string;
  version?: string;
  parameters?: { properties?: Record<string, unknown> };
}

/** `--set key=value` pairs (values parsed as YAML scalars: numbers, booleans, strings). */
function configFrom(pairs: string[] | undefined, file: string | undefined): Record<string, unknown> {
  let config: Record<string, unknown> = {};
  if (file) {
    try {
      const parsed = YAML.parse(readFileSync(file, 'utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) config = parsed as Record<string, unknown>;
      else throw new Error('it must hold an object');
    } catch (err) {
      throw new UsageError(`--config-file ${file}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set ${pair}: expected key=value`);
    config[pair.slice(0, eq)] = YAML.parse(pair.slice(eq + 1));
  }
  return config;
}

const showTaskserv = (t: Taskserv) =>
  details([
    ['id', t.id],
    ['name', t.name],
    ['version', t.version],
    ['status', status(t.status)],
    ['servers', t.servers?.join(', ')],
    ['server ids', t.server_ids?.join(', ')],
    ['workspace', t.workspace],
    ['provider', t.provider],
    ['config', t.config && Object.keys(t.config).length ? JSON.stringify(t.config) : undefined],
    ['operation', t.operation_id],
    ['created', t.created_at],
    ['updated', t.updated_at],
  ]);

export function registerTaskservs(program: Command): void {
  const taskservs = program.command('taskservs').description('task services installed on servers over SSH (kubernetes, postgres, …)');

  withOutput(
    taskservs
      .command('list')
      .description('installed task services, newest first')
      .option('--workspace <name>', 'only this workspace')
      .option('--limit <n>', 'at most this many (1–200)', parsePositiveInt)
      .option('--all', 'every page, not only the first'),
  ).action(
    action(async (ctx) => {
      const items = await ctx.client.list<Taskserv>('/v1/taskservs', { workspace: ctx.opts.workspace, limit: ctx.opts.limit }, Boolean(ctx.opts.all));
      emit(ctx.format, items, () =>
        items.length
          ? table(items, [
              { header: 'ID', value: (t) => t.id },
              { header: 'NAME', value: (t) => t.name },
              { header: 'VERSION', value: (t) => t.version },
              { header: 'STATUS', value: (t) => t.status, style: (s) => status(s) },
              { header: 'SERVERS', value: (t) => t.servers },
              { header: 'WORKSPACE', value: (t) => t.workspace },
            ])
          : 'no task services\n',
      );
    }),
  );

  withOutput(taskservs.command('catalog').description('the services that can be installed, with their parameters')).action(
    action(async (ctx) => {
      const items = (await ctx.client.get<CatalogEntry[]>('/v1/taskservs/catalog')).body;
      emit(ctx.format, items, () =>
        table(items, [
          { header: 'NAME', value: (c) => c.name },
          { header: 'VERSION', value: (c) => c.version },
          { header: 'PARAMETERS', value: (c) => Object.keys(c.parameters?.properties ?? {}) },
          { header: 'DESCRIPTION', value: (c) => c.description },
        ]),
      );
    }),
  );

  withOutput(taskservs.command('get').description('one installed task service').argument('<id>', 'task service id (tsk-…)')).action(
    action(async (ctx, id: string) => {
      const t = (await ctx.client.get<Taskserv>(`/v1/taskservs/${encodeURIComponent(id)}`)).body;
      emit(ctx.format, t, () => showTaskserv(t));
    }),
  );

  const create = taskservs
    .command('create')
    .description('install a task service on servers')
    .requiredOption('--name <service>', 'a service from "pe taskservs catalog"')
    .requiredOption('--server <host>', 'a hostname or server id (repeat for more)', collect)
    .option('--set <key=value>', 'a parameter of the service (repeat for more)', collect)
    .option('--config-file <path>', 'the parameters as a YAML or JSON object')
    .option('--check', 'render the script and log in to every server, running nothing');
  workspaceOption(create);
  fieldsFrom(create, { servers: '--server', config: '--set', check_mode: '--check', name: '--name' });
  withOutput(withWait(create)).action(
    action(async (ctx) => {
      const o = ctx.opts;
      const body = { workspace: defaultWorkspace(o), name: o.name, servers: o.server, config: configFrom(o.set, o.configFile), check_mode: Boolean(o.check) };
      const op = (await ctx.client.request<Operation>('POST', '/v1/taskservs/create', { body })).body;
      return accepted(ctx, op);
    }),
  );

  withOutput(withWait(taskservs.command('delete').description('remove a task service from every server it is on').argument('<id>', 'task service id (tsk-…)'))).action(
    action(async (ctx, id: string) => {
      const op = (await ctx.client.request<Operation>('DELETE', `/v1/taskservs/${encodeURIComponent(id)}`)).body;
      return accepted(ctx, op);
    }),
  );
}
