import { Option, type Command } from 'commander';
import { OPERATION_STATUSES } from '../core/operations/model.js';
import { ApiClient, DEFAULT_URL } from './client.js';
import { CredentialStore } from './credentials.js';
import { parseDuration, parsePositiveInt } from './durations.js';
import { UsageError } from './errors.js';
import { OUTPUT_FORMATS, type OutputFormat } from './output.js';

/** What every command's action works with. */
export interface CliContext {
  client: ApiClient;
  format: OutputFormat;
  /** The command's own options and the program's (--url). */
  opts: Record<string, any>;
  command: Command;
}

export function apiUrl(opts: Record<string, any>, env: NodeJS.ProcessEnv = process.env): string {
  return opts.url ?? env.PE_URL ?? DEFAULT_URL;
}

export function contextOf(command: Command): CliContext {
  const opts = command.optsWithGlobals();
  return { client: new ApiClient(apiUrl(opts), new CredentialStore()), format: (opts.output ?? 'table') as OutputFormat, opts, command };
}

/** `-o table|json|yaml`, on every command. */
export function withOutput(command: Command): Command {
  return command.addOption(new Option('-o, --output <format>', 'output format').choices([...OUTPUT_FORMATS]).default('table'));
}

/** `--wait` and `--timeout`, on every command that starts an operation. */
export function withWait(command: Command): Command {
  return command
    .option('--wait', 'follow the operation until it ends; exit by how it ended')
    .option('--timeout <duration>', 'with --wait: give up waiting after this long (exit 4), e.g. 30s, 5m', parseDuration)
    .hook('preAction', (self) => {
      if (self.opts().timeout !== undefined && !self.opts().wait) throw new UsageError('--timeout is for waiting: add --wait');
    });
}

/** The filters and paging of a list of operations (`ops list`, `workflows list`); `types` are what `--type` takes. */
export function withOperationFilters(command: Command, types: readonly string[], typeHelp: string): Command {
  return command
    .addOption(new Option('--status <status>', 'only in this state').choices(OPERATION_STATUSES))
    .addOption(new Option('--type <type>', typeHelp).choices(types))
    .option('--workspace <name>', 'only this workspace')
    .option('--provider <name>', 'only this provider')
    .option('--limit <n>', 'at most this many (1–200)', parsePositiveInt)
    .option('--all', 'every page, not only the first');
}

/** The workspace of a create or submit: --workspace, else PE_WORKSPACE, else "default". */
export function workspaceOption(command: Command, what = 'workspace'): Command {
  return command.option('--workspace <name>', `${what} (default: $PE_WORKSPACE or "default")`);
}

export function defaultWorkspace(opts: Record<string, any>): string {
  return opts.workspace ?? process.env.PE_WORKSPACE ?? 'default';
}

/** Which option an API field came from, where its name does not say (`tags` → `--tag`). */
const fieldFlags = new WeakMap<Command, Record<string, string>>();

export function fieldsFrom(command: Command, map: Record<string, string>): Command {
  fieldFlags.set(command, map);
  return command;
}

/** The option or argument of `command` an API error's field names, if any. */
export function flagFor(command: Command | undefined, field: string): string | undefined {
  if (!command) return undefined;
  if (field.startsWith('path.')) return command.registeredArguments[0] ? `<${command.registeredArguments[0].name()}>` : undefined;
  const bare = field.replace(/^(query|body)\./, '');
  const base = bare.split(/[.[]/)[0]!;
  const mapped = fieldFlags.get(command)?.[bare] ?? fieldFlags.get(command)?.[base];
  if (mapped) return mapped;
  const long = `--${base.replace(/_/g, '-')}`;
  return command.options.some((o) => o.long === long) ? long : undefined;
}
