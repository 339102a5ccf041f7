import { Option, type Command } from 'commander';
import { OPERATION_TYPES } from '../../core/operations/model.js';
import { fieldsFrom, withOperationFilters, withOutput, withWait, type CliContext } from '../context.js';
import { parseDuration } from '../durations.js';
import { UsageError } from '../errors.js';
import { isTerminal, sleep } from '../follow.js';
import { details, emit, paint, serialize } from '../output.js';
import { action } from '../run.js';
import type { LogEntry, LogPage, Operation } from '../types.js';
import { operationDetails, operationsTable } from '../views.js';
import { waitAndReport } from '../wait.js';
import { watchOperations } from '../watch.js';
import { accepted } from './servers.js';
import { watchWorkflow } from './workflows.js';

function logLines(entries: LogEntry[]): string {
  return entries.map((e) => `${paint(e.at ?? '', 'gray')}  ${e.source && e.source !== 'engine' ? `[${e.source}] ` : ''}${e.line}\n`).join('');
}

export function registerOps(program: Command): void {
  const ops = program.command('ops').description('watch, wait for, cancel and retry operations');

  withOutput(
    withOperationFilters(ops.command('list').description('operations, newest first'), OPERATION_TYPES, 'only of this type').option('--watch', 'keep the list live (over GET /v1/events) until Ctrl-C'),
  ).action(
    action(async (ctx) => {
      const o = ctx.opts;
      const filters = { status: o.status, type: o.type, workspace: o.workspace, provider: o.provider };
      const items = await ctx.client.list<Operation>('/v1/operations', { ...filters, limit: o.limit }, Boolean(o.all));
      if (o.watch) return watchOperations(ctx, items, filters, o.limit ?? 50);
      emit(ctx.format, items, () => operationsTable(items));
    }),
  );

  withOutput(ops.command('get').description('one operation').argument('<id>', 'operation id')).action(
    action(async (ctx, id: string) => {
      const op = (await ctx.client.get<Operation>(`/v1/operations/${encodeURIComponent(id)}`)).body;
      emit(ctx.format, op, () => operationDetails(op));
    }),
  );

  withOutput(
    ops
      .command('wait')
      .description('follow an operation until it ends; exit 0 completed, 1 failed, 3 cancelled, 4 timed out')
      .argument('<id>', 'operation id')
      .option('--timeout <duration>', 'give up after this long (exit 4), e.g. 30s, 5m', parseDuration),
  ).action(
    action(async (ctx, id: string) => {
      const op = (await ctx.client.get<Operation>(`/v1/operations/${encodeURIComponent(id)}`)).body;
      // A workflow is followed with its steps.
      if (op.type.startsWith('workflow.')) return watchWorkflow(ctx, op.id, op.workspace);
      return waitAndReport(ctx, op, { timeoutMs: ctx.opts.timeout });
    }),
  );

  withOutput(
    withWait(
      ops
        .command('cancel')
        .description('cancel an operation: at once when pending; a running one aborts, cleans up and ends cancelled')
        .argument('<id>', 'operation id')
        .option('--force', 'end a running operation at once, once a normal cancel has had its grace; its result lists what may remain at the provider'),
    ),
  ).action(
    action(async (ctx, id: string) => {
      const body = ctx.opts.force ? { force: true } : undefined;
      const op = (await ctx.client.request<Operation>('POST', `/v1/operations/${encodeURIComponent(id)}/cancel`, { body })).body;
      if (ctx.opts.wait) return waitAndReport(ctx, op, { timeoutMs: ctx.opts.timeout });
      const said = op.status === 'cancelled' ? 'cancelled' : 'cancel requested; the worker aborts and cleans up';
      emit(ctx.format, op, () => `operation ${op.id}: ${said}\n`);
    }),
  );

  const matching = ops
    .command('cancel-matching')
    .description('cancel every pending or running operation that matches the filters (at least one)')
    .addOption(new Option('--status <status>', 'pending or running').choices(['pending', 'running']))
    .addOption(new Option('--type <type>', 'only of this type').choices(OPERATION_TYPES))
    .option('--workspace <name>', 'only this workspace')
    .option('--provider <name>', 'only this provider')
    .option('--created-before <time>', 'only those created before this time (ISO 8601)')
    .option('--dry-run', 'show what would be cancelled, cancel nothing');
  fieldsFrom(matching, { dry_run: '--dry-run', created_before: '--created-before' });
  withOutput(matching).action(
    action(async (ctx) => {
      const o = ctx.opts;
      const filters = { status: o.status, type: o.type, workspace: o.workspace, provider: o.provider, created_before: o.createdBefore };
      const given = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined));
      if (Object.keys(given).length === 0) throw new UsageError('name at least one filter (--status, --type, --workspace, --provider, --created-before): cancelling everything takes a filter on purpose');
      const reply = (await ctx.client.request<Record<string, unknown>>('POST', '/v1/operations/cancel', { body: { ...given, ...(o.dryRun ? { dry_run: true } : {}) } })).body;
      const count = (v: unknown) => (Array.isArray(v) ? v.length : v);
      emit(ctx.format, reply, () => {
        let out = details([
          ['dry run', Boolean(reply.dry_run)],
          ['matched', count(reply.matched)],
          ['cancelled', count(reply.cancelled)],
          ['requested', count(reply.requested)],
          ['skipped', count(reply.skipped)],
          ['truncated', reply.truncated ? 'yes: more matched than one request takes; run it again for the rest' : undefined],
        ]);
        const lists: Array<[string, unknown]> = [
          [reply.dry_run ? 'would cancel' : 'matched', reply.dry_run ? reply.ids : undefined],
          ['cancelled (they had not started)', reply.cancelled],
          ['requested (running: their workers were asked to stop)', reply.requested],
          ['skipped', reply.skipped],
        ];
        for (const [title, list] of lists) {
          if (!Array.isArray(list) || list.length === 0) continue;
          out += `\n${paint(title, 'bold')}\n`;
          out += list.map((x) => `  ${x && typeof x === 'object' ? [(x as Record<string, unknown>).id, (x as Record<string, unknown>).reason].filter(Boolean).join('  ') : String(x)}\n`).join('');
        }
        return out;
      });
    }),
  );

  withOutput(withWait(ops.command('retry').description('run a failed or cancelled operation again, as a new operation').argument('<id>', 'operation id'))).action(
    action(async (ctx, id: string) => {
      const op = (await ctx.client.request<Operation>('POST', `/v1/operations/${encodeURIComponent(id)}/retry`)).body;
      return accepted(ctx, op);
    }),
  );

  withOutput(
    ops
      .command('logs')
      .description("an operation's log: the engine's steps and what its scripts printed")
      .argument('<id>', 'operation id')
      .option('--follow', 'keep printing new lines until the operation ends'),
  ).action(
    action(async (ctx, id: string) => followLogs(ctx, id, Boolean(ctx.opts.follow))),
  );
}

async function followLogs(ctx: CliContext, id: string, follow: boolean): Promise<number> {
  const path = `/v1/operations/${encodeURIComponent(id)}/logs`;
  let from = 0;
  const all: LogEntry[] = [];
  let page: LogPage;
  for (;;) {
    page = (await ctx.client.get<LogPage>(path, { from, limit: 1000 })).body;
    from = page.next ?? from + page.entries.length;
    if (follow) {
      // Line by line as they come: JSON lines (one entry each) or text.
      for (const e of page.entries) process.stdout.write(ctx.format === 'table' ? logLines([e]) : ctx.format === 'json' ? JSON.stringify(e) + '\n' : serialize([e], 'yaml'));
    } else all.push(...page.entries);
    if (page.entries.length >= 1000) continue;
    if (!follow) break;
    const op = (await ctx.client.get<Operation>(`/v1/operations/${encodeURIComponent(id)}`)).body;
    if (isTerminal(op.status)) {
      // One last read: lines written just before it ended.
      const rest = (await ctx.client.get<LogPage>(path, { from, limit: 5000 })).body;
      for (const e of rest.entries) process.stdout.write(ctx.format === 'table' ? logLines([e]) : ctx.format === 'json' ? JSON.stringify(e) + '\n' : serialize([e], 'yaml'));
      return 0;
    }
    await sleep(1000);
  }
  const body = { ...page, entries: all };
  emit(ctx.format, body, () => (all.length ? logLines(all) : 'no log lines\n'));
  return 0;
}

