import { AbortedError, EngineError, ErrorCodes, isAbort, isErrorCode } from '../../common/errors.js';
import type { SshRunner } from '../../core/ssh/runner.js';
import type { ScriptTarget } from '../../core/taskservs/targets.js';
import type { LogBatcher } from './log-batcher.js';

export interface ServerSuccess {
  server_id: string;
  hostname: string;
  exit_code: 0;
}

export interface ServerFailure {
  server_id: string;
  hostname: string;
  /** Names the server, and for a script that failed its exit code and last lines. */
  message: string;
  code: string;
}

export interface RunReport {
  succeeded: ServerSuccess[];
  failed: ServerFailure[];
}

export interface RunOnServersInput {
  runner: SshRunner;
  targets: readonly ScriptTarget[];
  /** `install script of nginx 1.26.2`: what the log and errors call it. */
  what: string;
  script: (target: ScriptTarget) => string;
  log: LogBatcher;
  parallelism: number;
  signal?: AbortSignal;
  /** Called as each server finishes. */
  onDone?: (target: ScriptTarget, ok: boolean) => void | Promise<void>;
}

async function runOne(input: RunOnServersInput, target: ScriptTarget): Promise<ServerSuccess | ServerFailure> {
  const { runner, log, what, signal } = input;
  const base = { server_id: target.server_id, hostname: target.hostname };
  log.add(`${target.hostname}: running the ${what} at ${target.address}`);
  try {
    const result = await runner.run({ label: target.hostname, address: target.address, pinKey: target.server_id }, input.script(target), {
      signal,
      onLine: (stream, line) => log.add({ source: target.hostname, stream, line }),
    });
    if (result.exitCode === 0) {
      log.add(`${target.hostname}: the ${what} finished (exit code 0)`);
      return { ...base, exit_code: 0 };
    }
    const how = result.exitCode !== null ? `exited with code ${result.exitCode}` : result.exitSignal ? `was killed by SIG${result.exitSignal}` : 'ended without an exit status';
    const last = result.tail.slice(-5).join(' | ');
    log.add(`${target.hostname}: the ${what} ${how}`);
    return { ...base, code: 'TASKSERV_SCRIPT_FAILED', message: `${target.hostname} (${target.address}): the ${what} ${how}${last ? `; last output: ${last}` : ''}` };
  } catch (err) {
    if (isAbort(err)) throw err;
    const code = (err as { code?: string }).code ?? 'SSH_UNREACHABLE';
    log.add(`${target.hostname}: ${(err as Error).message}`);
    return { ...base, code, message: (err as Error).message };
  }
}

/**
 * Runs a script on every target, at most `parallelism` at once, and reports each server's
 * outcome. One server failing does not stop the others (a half-run script is worse than a
 * finished one); an abort stops them all, and is thrown once every run has let go.
 */
export async function runOnServers(input: RunOnServersInput): Promise<RunReport> {
  const queue = [...input.targets];
  const report: RunReport = { succeeded: [], failed: [] };
  let aborted: unknown = null;
  const lane = async () => {
    for (let target = queue.shift(); target && !aborted; target = queue.shift()) {
      try {
        const outcome = await runOne(input, target);
        if ('message' in outcome) report.failed.push(outcome);
        else report.succeeded.push(outcome);
        await input.onDone?.(target, !('message' in outcome));
      } catch (err) {
        aborted ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.parallelism, queue.length) }, lane));
  await input.log.flush();
  if (aborted) throw aborted;
  if (input.signal?.aborted) throw new AbortedError(input.signal.reason);
  return report;
}

/** The error a failed operation records: every failed server named, with why. */
export function scriptFailure(report: RunReport, what: string): EngineError {
  const codes = new Set(report.failed.map((f) => f.code));
  const [only] = codes;
  // One cause everywhere (say, no server takes the key) keeps its own code.
  const code = codes.size === 1 && isErrorCode(only) ? only : ErrorCodes.TASKSERV_SCRIPT_FAILED;
  const names = report.failed.map((f) => f.hostname).join(', ');
  return new EngineError(code, `the ${what} failed on ${names}: ${report.failed.map((f) => f.message).join('; ')}`, {
    servers: report.failed.map((f) => f.hostname),
  });
}
