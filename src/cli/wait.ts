import type { CliContext } from './context.js';
import { ExitCode, exitCodeForStatus } from './exit-codes.js';
import { followOperation, isTerminal } from './follow.js';
import { duration, paint, serialize, status } from './output.js';
import { ProgressLine } from './progress.js';
import type { Operation } from './types.js';
import { operationDetails } from './views.js';

export interface WaitOptions {
  timeoutMs?: number;
  /** The table view of the finished operation (the default: its details). */
  render?: (op: Operation) => Promise<string> | string;
}

/**
 * Follows an operation to its end with a live progress line, then shows it: JSON or YAML
 * verbatim on stdout (the progress went to stderr), or its table view. Returns the exit code:
 * 0 completed, 1 failed, 3 cancelled, 4 timed out.
 */
export async function waitAndReport(ctx: CliContext, op: Operation, opts: WaitOptions = {}): Promise<number> {
  // Progress goes where it does not spoil what scripts read: stdout only for tables.
  const stream = ctx.format === 'table' ? process.stdout : process.stderr;
  const line = new ProgressLine(stream);
  line.setLabel(`${op.type} ${op.id}`);
  const stopOnSignal = () => {
    line.stop();
    process.stderr.write(`stopped waiting; operation ${op.id} goes on (pe ops wait ${op.id})\n`);
    process.exit(130);
  };
  process.once('SIGINT', stopOnSignal);
  let result;
  try {
    result = await followOperation(ctx.client, op.id, {
      timeoutMs: opts.timeoutMs,
      onSnapshot: (o) => line.update(o.status, isTerminal(o.status) ? undefined : (o.progress?.message ?? '')),
      onEvent: (e) => {
        if (e.kind === 'state') line.update(e.data.to, e.data.message ?? '');
        else if (e.kind === 'progress') line.update(undefined, e.data.message ?? '');
        else if (e.kind === 'cancel_requested') line.update(undefined, 'cancel requested');
      },
      onReconnect: ({ delayMs, lastEventId, reason }) =>
        line.note(paint(`connection lost (${reason}); resuming${lastEventId ? ` after event ${lastEventId}` : ''} in ${duration(delayMs)}`, 'yellow', stream)),
    });
  } finally {
    line.stop();
    process.removeListener('SIGINT', stopOnSignal);
  }
  if (result.outcome === 'timeout') {
    if (ctx.format !== 'table' && result.operation) process.stdout.write(serialize(result.operation, ctx.format));
    const now = result.operation?.status ?? op.status;
    process.stderr.write(`timed out after ${duration(opts.timeoutMs ?? 0)} waiting for operation ${op.id} (still ${now}); it goes on: pe ops wait ${op.id}\n`);
    return ExitCode.TIMED_OUT;
  }
  const done = result.operation;
  if (ctx.format !== 'table') process.stdout.write(serialize(done, ctx.format));
  else process.stdout.write(summary(done, line.elapsedMs) + '\n' + (await (opts.render ?? operationDetails)(done)));
  return exitCodeForStatus(done.status);
}

function summary(op: Operation, waitedMs: number): string {
  const mark = op.status === 'completed' ? paint('✓', 'green') : op.status === 'failed' ? paint('✗', 'red') : paint('■', 'magenta');
  const why = op.status === 'failed' && op.error ? `: ${op.error.code}: ${op.error.message}` : '';
  return `${mark} ${op.type} ${op.id} ${status(op.status)} after ${duration(waitedMs)}${why}\n`;
}
