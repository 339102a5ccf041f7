import type { Command } from 'commander';
import type { IntakePause, PauseScope } from '../../core/intake/pauses.js';
import { withOutput } from '../context.js';
import { UsageError } from '../errors.js';
import { age, emit, table } from '../output.js';
import { action } from '../run.js';

/** A pause; in the list, with how many pending operations it holds back right now. */
type Pause = IntakePause & { held?: number };

/** Exactly one of --workspace and --provider. */
function scopeOf(opts: Record<string, any>): { scope: PauseScope; name: string } {
  if (opts.workspace && opts.provider) throw new UsageError('name either --workspace or --provider, not both');
  if (opts.workspace) return { scope: 'workspace', name: opts.workspace };
  if (opts.provider) return { scope: 'provider', name: opts.provider };
  throw new UsageError('name what to pause: --workspace <name> or --provider <name>');
}

export function registerIntake(program: Command): void {
  const intake = program
    .command('intake')
    .description('pause and resume the start of new work for a workspace or provider (operations stay pending, "paused")');

  withOutput(
    intake
      .command('pause')
      .description('stop starting new operations of a workspace or a provider; they wait, pending')
      .option('--workspace <name>', 'pause this workspace')
      .option('--provider <name>', 'pause this provider')
      .requiredOption('--reason <text>', 'why (shown to whoever looks)'),
  ).action(
    action(async (ctx) => {
      const body = { ...scopeOf(ctx.opts), reason: ctx.opts.reason };
      const pause = (await ctx.client.request<Pause>('POST', '/v1/intake/pauses', { body })).body;
      emit(ctx.format, pause, () => `paused ${pause.scope} ${pause.name}: ${pause.reason}${pause.held ? ` (${pause.held} pending held back)` : ''}\nnew operations are accepted and wait, pending; resume: pe intake resume --${pause.scope} ${pause.name}\n`);
    }),
  );

  withOutput(
    intake
      .command('resume')
      .description('start new operations of a workspace or provider again')
      .option('--workspace <name>', 'resume this workspace')
      .option('--provider <name>', 'resume this provider'),
  ).action(
    action(async (ctx) => {
      const { scope, name } = scopeOf(ctx.opts);
      const reply = (await ctx.client.request<{ was_paused?: boolean; released?: string[] }>('DELETE', `/v1/intake/pauses/${scope}/${encodeURIComponent(name)}`)).body;
      emit(ctx.format, reply, () => {
        if (reply?.was_paused === false) return `${scope} ${name} was not paused\n`;
        const released = reply?.released ?? [];
        return `resumed ${scope} ${name}${released.length ? `: ${released.length} held operation${released.length === 1 ? '' : 's'} start now` : ''}\n` + released.map((id) => `  ${id}\n`).join('');
      });
    }),
  );

  withOutput(intake.command('list').description('the pauses in force')).action(
    action(async (ctx) => {
      const body = (await ctx.client.get<Pause[] | { pauses: Pause[] }>('/v1/intake/pauses')).body;
      const pauses = Array.isArray(body) ? body : (body?.pauses ?? []);
      emit(ctx.format, body, () =>
        pauses.length
          ? table(pauses, [
              { header: 'SCOPE', value: (p) => p.scope },
              { header: 'NAME', value: (p) => p.name },
              { header: 'REASON', value: (p) => p.reason },
              { header: 'HELD', value: (p) => p.held, align: 'right' },
              { header: 'BY', value: (p) => p.paused_by },
              { header: 'SINCE', value: (p) => age(p.paused_at) },
            ])
          : 'no pauses: intake is open\n',
      );
    }),
  );
}
