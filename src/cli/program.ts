import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerAuth } from './commands/auth.js';
import { registerCatalog } from './commands/catalog.js';
import { registerIntake } from './commands/intake.js';
import { registerOps } from './commands/ops.js';
import { registerServers } from './commands/servers.js';
import { registerTaskservs } from './commands/taskservs.js';
import { registerWorkflows } from './commands/workflows.js';
import { EXIT_CODES_HELP } from './exit-codes.js';

function version(): string {
  try {
    // The same two levels up from src/cli/ and from the bundle in dist/cli/.
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/**
 * The `pe` program. Commander's own errors (unknown command or option, a missing argument, a
 * bad choice) are thrown rather than exiting, so main() turns them into exit code 2; the
 * settings are set before any subcommand is added, which inherits them.
 */
export function buildProgram(): Command {
  const program = new Command('pe')
    .description('The provisioning engine from the command line: servers, operations, workflows, task services, catalogue.')
    .version(version(), '-V, --version')
    .option('--url <url>', 'the API (default: $PE_URL or http://localhost:8083)')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .addHelpText('after', EXIT_CODES_HELP);
  registerAuth(program);
  registerServers(program);
  registerOps(program);
  registerWorkflows(program);
  registerTaskservs(program);
  registerCatalog(program);
  registerIntake(program);
  return program;
}
