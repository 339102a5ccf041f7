import { CommanderError, type Command } from 'commander';
import { flagFor } from './context.js';
import { ApiError, CliError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { paint } from './output.js';
import { buildProgram } from './program.js';
import { outcome } from './run.js';

/** One error, told in words on stderr: the server's message and the fields it names; never a stack. */
export function report(err: unknown, command: Command | undefined): number {
  const out = (line: string) => process.stderr.write(line + '\n');
  const red = (text: string) => paint(text, 'red', process.stderr);
  if (err instanceof ApiError) {
    out(`${red('pe: error:')} ${err.message} (${err.code}, HTTP ${err.status})`);
    for (const p of err.problems) {
      const flag = flagFor(command, p.field);
      out(`  ${p.field}${flag ? ` (${flag})` : ''}: ${p.problem}`);
    }
    for (const line of err.lines) out(`  ${line}`);
    if (err.traceId && err.status >= 500) out(`  trace id: ${err.traceId}`);
    return err.exitCode;
  }
  if (err instanceof CliError) {
    out(`${red('pe: error:')} ${err.message}`);
    for (const line of err.lines) out(`  ${line}`);
    if (err.exitCode === ExitCode.USAGE && command) out(`(see: ${commandPath(command)} --help)`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  out(`${red('pe: error:')} ${message}`);
  if (process.env.PE_DEBUG && err instanceof Error && err.stack) out(err.stack);
  return ExitCode.API_ERROR;
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Runs `pe` with these arguments and returns its exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  let current: Command | undefined;
  program.hook('preAction', (_self, actionCommand) => {
    current = actionCommand;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return outcome.code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version asked for are a success; a bare group ("pe servers") shows its help as a usage error.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.OK;
      return ExitCode.USAGE;
    }
    return report(err, current);
  }
}

// A reader that went away (`pe ops list | head -1`) is no error of ours.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
});
// Whatever escapes is still told in one line, never as a stack trace.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (err: unknown) => process.exit(report(err, undefined)));
}

const code = await run(process.argv.slice(2));
// Let what was written reach a pipe before exiting (an open keep-alive socket must not hold the process).
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
