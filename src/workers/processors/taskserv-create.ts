import { EngineError, ErrorCodes } from '../../common/errors.js';
import { OperationLog } from '../../core/operations/log.js';
import { engineSshRunner } from '../../core/ssh/engine-runner.js';
import { findTaskserv } from '../../core/taskservs/catalog.js';
import { createInputOf, taskservStore } from '../../core/taskservs/requests.js';
import type { TaskservRecord } from '../../core/taskservs/store.js';
import { currentTargets } from '../../core/taskservs/targets.js';
import type { Processor } from '../run-operation.js';
import { LogBatcher } from './log-batcher.js';
import { runOnServers, scriptFailure, type RunReport } from './run-on-servers.js';

/**
 * Installs a task service: renders its install script from the validated config and runs it
 * on every target server over SSH, streaming the output into the operation's log. In check
 * mode it renders the script and makes sure every server can be logged in to, running nothing.
 */
export const taskservCreate: Processor = async (op, { ctx, call, progress, onCancel }) => {
  const request = createInputOf(op);
  const def = findTaskserv(request.name);
  if (!def) throw new EngineError(ErrorCodes.VALIDATION_FAILED, `no task service named '${request.name}' in this engine's catalogue`);
  const what = `install script of ${def.name} ${request.version}`;
  const script = def.install(request.config);
  const targets = await currentTargets(ctx, request.server_ids);
  const runner = await engineSshRunner(ctx);
  const parallelism = ctx.config.ssh.parallelism;

  if (request.check_mode) {
    await progress('validate', `checking that the engine can log in to ${targets.map((t) => t.hostname).join(', ')}`);
    const report: RunReport = { succeeded: [], failed: [] };
    await Promise.all(
      targets.map((t) =>
        runner.probe({ label: t.hostname, address: t.address, pinKey: t.server_id }, call.signal).then(
          () => void report.succeeded.push({ server_id: t.server_id, hostname: t.hostname, exit_code: 0 }),
          (err: Error & { code?: string }) => void report.failed.push({ server_id: t.server_id, hostname: t.hostname, code: err.code ?? ErrorCodes.SSH_UNREACHABLE, message: err.message }),
        ),
      ),
    );
    if (report.failed.length > 0) throw scriptFailure(report, 'SSH login check');
    return { check_mode: true, would_run: { taskserv_id: request.taskserv_id, name: def.name, version: request.version, servers: targets, script } };
  }

  const store = taskservStore(ctx);
  const previous = await store.get(request.taskserv_id);
  const now = new Date().toISOString();
  const serverIds = [...(previous?.server_ids ?? [])];
  const servers = [...(previous?.servers ?? [])];
  for (const t of targets) {
    const at = serverIds.indexOf(t.server_id);
    if (at >= 0) {
      servers[at] = t.hostname;
    } else {
      serverIds.push(t.server_id);
      servers.push(t.hostname);
    }
  }
  const record: TaskservRecord = {
    id: request.taskserv_id,
    name: def.name,
    version: request.version,
    workspace: op.workspace,
    provider: previous?.provider ?? op.provider,
    status: 'installing',
    servers,
    server_ids: serverIds,
    config: request.config,
    operation_id: op.id,
    created_at: previous?.created_at ?? now,
    updated_at: now,
  };
  await store.save(record);

  const log = new LogBatcher(new OperationLog(ctx.redis, ctx.keys, op.id), ctx.logger);
  // Cancelled midway: take the service off the servers this operation put it on (those that
  // had it before keep it), and put the record back as it was.
  onCancel(async (signal) => {
    const added = targets.filter((t) => !previous?.server_ids.includes(t.server_id));
    log.add(`cancelled: running the remove script of ${def.name} on ${added.map((t) => t.hostname).join(', ') || 'no server'}`);
    const undone = await runOnServers({ runner, targets: added, what: `remove script of ${def.name}`, script: () => def.remove(request.config), log, parallelism, signal });
    if (previous) await store.save(previous);
    else await store.remove(request.taskserv_id);
    if (undone.failed.length > 0) throw scriptFailure(undone, `remove script of ${def.name}`);
    return undone.succeeded.map((s) => ({ resource: 'taskserv', name: def.name, server_id: s.server_id, hostname: s.hostname, action: 'removed' }));
  });

  let done = 0;
  await progress('install', `running the ${what} on ${targets.map((t) => t.hostname).join(', ')}`);
  const report = await runOnServers({
    runner,
    targets,
    what,
    script: () => script,
    log,
    parallelism,
    signal: call.signal,
    onDone: (t, ok) => progress('install', `${t.hostname}: ${ok ? 'installed' : 'failed'} (${++done} of ${targets.length})`),
  });
  if (report.failed.length > 0) {
    await store.setStatus(request.taskserv_id, 'failed', op.id);
    throw scriptFailure(report, what);
  }
  await store.setStatus(request.taskserv_id, 'running', op.id);
  return { taskserv_id: request.taskserv_id, name: def.name, version: request.version, servers: report.succeeded, status: 'running' };
};
