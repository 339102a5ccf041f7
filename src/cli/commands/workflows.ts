import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import YAML from 'yaml';
import { FAILURE_POLICIES, WORKFLOW_TYPES } from '../../core/workflows/model.js';
import { defaultWorkspace, withOperationFilters, withOutput, withWait, workspaceOption, type CliContext } from '../context.js';
import { parseDuration } from '../durations.js';
import { CliError, UsageError } from '../errors.js';
import { ExitCode, exitCodeForStatus } from '../exit-codes.js';
import { duration, emit, paint, serialize, status, table } from '../output.js';
import { readStdin } from '../prompt.js';
import { action } from '../run.js';
import type { Operation, Workflow } from '../types.js';
import { operationColumns, workflowDetails } from '../views.js';
import { readEvents, type StreamEvent } from '../sse.js';
import { followWorkflow } from '../workflow-follow.js';

/** A workflow file: YAML or JSON (JSON is YAML too), `-` for standard input. */
async function readWorkflowFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = path === '-' ? await readStdin() : readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = path.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new UsageError(`${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML or JSON'}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`${path} must hold an object: {workflow_type, parameters, workspace?, on_failure?}`);
  return doc as Record<string, unknown>;
}

export function registerWorkflows(program: Command): void {
  const workflows = program.command('workflows').description('multi-step workflows: clusters, batches, custom graphs');

  const submit = workflows
    .command('submit')
    .description('submit a workflow from a YAML or JSON file; with --wait, show every step live')
    .requiredOption('-f, --file <path>', 'the workflow: {workflow_type, parameters, workspace?, on_failure?} ("-" reads standard input)')
    .addOption(new Option('--on-failure <policy>', 'what a failed step does to the rest').choices(FAILURE_POLICIES));
  workspaceOption(submit, 'workspace, when the file names none');
  withOutput(withWait(submit))
    .addHelpText('after', '\nExample cluster.yaml:\n  workflow_type: cluster_create\n  parameters:\n    cluster_name: demo\n    node_count: 3\n    provider: digitalocean\n    plan: s-1vcpu-1gb\n    zone: nyc3\n')
    .action(
      action(async (ctx) => {
        const doc = await readWorkflowFile(ctx.opts.file);
        const body = {
          ...doc,
          workspace: ctx.opts.workspace ?? doc.workspace ?? defaultWorkspace({}),
          ...(ctx.opts.onFailure ? { on_failure: ctx.opts.onFailure } : {}),
        } as Record<string, unknown>;
        if (!ctx.opts.wait) {
          const op = (await ctx.client.request<Operation>('POST', '/v1/workflows/submit', { body })).body;
          emit(ctx.format, op, () => `${op.type} accepted: workflow ${op.id} (${op.status})\nfollow it: pe workflows get ${op.id} --watch\n`);
          return 0;
        }
        // The stream is opened (and read) first so that the first steps' events are not missed.
        const events = readEvents(await ctx.client.openStream('/v1/events', { query: { workspace: String(body.workspace) } }));
        let op: Operation;
        try {
          op = (await ctx.client.request<Operation>('POST', '/v1/workflows/submit', { body })).body;
        } catch (err) {
          void events.return(undefined);
          throw err;
        }
        return watchWorkflow(ctx, op.id, String(body.workspace), events);
      }),
    );

  withOutput(
    workflows
      .command('get')
      .description('a workflow and its steps')
      .argument('<id>', 'workflow id')
      .option('--watch', 'follow it live until it ends (exit by how it ended)')
      .option('--timeout <duration>', 'with --watch: give up after this long (exit 4)', parseDuration),
  ).action(
    action(async (ctx, id: string) => {
      const wf = (await ctx.client.get<Workflow>(`/v1/workflows/${encodeURIComponent(id)}`)).body;
      if (ctx.opts.watch) return watchWorkflow(ctx, id, wf.workspace);
      emit(ctx.format, wf, () => workflowDetails(wf));
    }),
  );

  withOutput(
    withOperationFilters(workflows.command('list').description('workflows, newest first'), WORKFLOW_TYPES, 'only of this workflow type'),
  ).action(
    action(async (ctx) => {
      const o = ctx.opts;
      const items = await ctx.client.list<Operation>('/v1/workflows', { status: o.status, workflow_type: o.type, workspace: o.workspace, provider: o.provider, limit: o.limit }, Boolean(o.all));
      emit(ctx.format, items, () => (items.length ? table(items, operationColumns) : 'no workflows\n'));
    }),
  );

  withOutput(withWait(workflows.command('cancel').description('cancel a workflow: its pending and running steps, then the rollback if it asked for one').argument('<id>', 'workflow id'))).action(
    action(async (ctx, id: string) => {
      const op = (await ctx.client.request<Operation>('POST', `/v1/workflows/${encodeURIComponent(id)}/cancel`)).body;
      if (ctx.opts.wait) return watchWorkflow(ctx, id, op.workspace);
      emit(ctx.format, op, () => `workflow ${op.id}: ${op.status === 'cancelled' ? 'cancelled' : 'cancel requested; its steps are being cancelled'}\n`);
    }),
  );
}

/** Shows each step's changes as lines (they are many, so never redrawn), then the workflow. */
export async function watchWorkflow(ctx: CliContext, id: string, workspace: string, events?: AsyncGenerator<StreamEvent>): Promise<number> {
  const out = ctx.format === 'table' ? process.stdout : process.stderr;
  const started = Date.now();
  const stamp = () => paint(duration(Date.now() - started).padStart(6), 'gray', out);
  const timeoutMs: number | undefined = ctx.opts.timeout;
  out.write(`workflow ${id}\n`);
  const result = await followWorkflow(ctx.client, id, workspace, {
    timeoutMs,
    events,
    onWorkflow: (s) => out.write(`${stamp()}  workflow  ${status(s, out)}\n`),
    onStep: ({ step, from, to, message }) => {
      const op = step.operation_id ? `  ${paint(step.operation_id, 'gray', out)}` : '';
      if (to) out.write(`${stamp()}  step ${step.id}  ${step.type}  ${from ? `${status(from, out)} → ` : ''}${status(to, out)}${op}${to === 'failed' && step.error ? `  ${step.error.code}: ${step.error.message}` : ''}\n`);
      else out.write(`${stamp()}  step ${step.id}  ${message}\n`);
    },
    onReconnect: (reason, delayMs) => out.write(paint(`connection lost (${reason}); resuming in ${duration(delayMs)}\n`, 'yellow', out)),
  });
  if (result.outcome === 'timeout') {
    if (ctx.format !== 'table' && result.workflow) process.stdout.write(serialize(result.workflow, ctx.format));
    process.stderr.write(`timed out waiting for workflow ${id} (still ${result.workflow?.status ?? 'running'}); it goes on: pe workflows get ${id} --watch\n`);
    return ExitCode.TIMED_OUT;
  }
  const wf = result.workflow;
  if (!wf) throw new CliError(`workflow ${id} could not be read`);
  if (ctx.format !== 'table') process.stdout.write(serialize(wf, ctx.format));
  else process.stdout.write('\n' + workflowDetails(wf));
  return exitCodeForStatus(wf.status);
}
