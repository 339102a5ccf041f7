import { OperationLog } from '../../core/operations/log.js';
import { engineSshRunner } from '../../core/ssh/engine-runner.js';
import { EngineError, ErrorCodes } from '../../common/errors.js';
import { findTaskserv } from '../../core/taskservs/catalog.js';
import { deleteTargetOf, taskservStore } from '../../core/taskservs/requests.js';
import type { ScriptTarget } from '../../core/taskservs/targets.js';
import type { Processor } from '../run-operation.js';
import { LogBatcher } from './log-batcher.js';
import { runOnServers, scriptFailure } from './run-on-servers.js';

/**
 * Removes a task service: runs its remove script, rendered from the config it was installed
 * with, on every server it is on, then forgets it. Servers deleted since have nothing left
 * to remove and are skipped.
 */
export const taskservDelete: Processor = async (op, { ctx, call, progress, onCancel }) => {
  const id = deleteTargetOf(op);
  const store = taskservStore(ctx);
  const record = await store.get(id);
  if (!record) return { taskserv_id: id, removed: true, already_gone: true };
  const def = findTaskserv(record.name);
  if (!def) throw new EngineError(ErrorCodes.VALIDATION_FAILED, `no task service named '${record.name}' in this engine's catalogue`);
  const what = `remove script of ${def.name} ${record.version}`;

  const log = new LogBatcher(new OperationLog(ctx.redis, ctx.keys, op.id), ctx.logger);
  const targets: ScriptTarget[] = [];
  const skipped: string[] = [];
  for (const serverId of record.server_ids) {
    const server = await ctx.inventory.get(serverId);
    if (!server || server.status === 'gone') {
      skipped.push(record.servers[record.server_ids.indexOf(serverId)] ?? serverId);
      continue;
    }
    if (server.status !== 'running' || !server.ip_address) {
      throw new EngineError(ErrorCodes.CONFLICT, `server ${server.hostname} (${serverId}) is ${server.status}; it must be running to remove ${def.name}`);
    }
    targets.push({ server_id: serverId, hostname: server.hostname, address: server.ip_address });
  }
  if (skipped.length > 0) log.add(`skipping ${skipped.join(', ')}: deleted, nothing left to remove`);

  await store.setStatus(id, 'removing', op.id);
  // Stopped midway the service is on some servers and not others: say so rather than guess.
  onCancel(async () => {
    await store.setStatus(id, 'failed', op.id);
    return [];
  });

  const runner = await engineSshRunner(ctx);
  let done = 0;
  await progress('remove', `running the ${what} on ${targets.map((t) => t.hostname).join(', ') || 'no server'}`);
  const report = await runOnServers({
    runner,
    targets,
    what,
    script: () => def.remove(record.config),
    log,
    parallelism: ctx.config.ssh.parallelism,
    signal: call.signal,
    onDone: (t, ok) => progress('remove', `${t.hostname}: ${ok ? 'removed' : 'failed'} (${++done} of ${targets.length})`),
  });
  if (report.failed.length > 0) {
    await store.setStatus(id, 'failed', op.id);
    throw scriptFailure(report, what);
  }
  await store.remove(id);
  return { taskserv_id: id, name: def.name, removed: true, servers: report.succeeded, skipped };
};
