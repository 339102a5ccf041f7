import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { apiUrl, withOutput } from '../context.js';
import { loginFrom, type TokenPair } from '../client.js';
import { emit } from '../output.js';
import { ask, askHidden, readStdin } from '../prompt.js';
import { action } from '../run.js';

export function registerAuth(program: Command): void {
  withOutput(
    program
      .command('login')
      .description('log in and store the tokens (in $XDG_CONFIG_HOME/pe or ~/.config/pe, mode 0600)')
      .option('--username <name>', 'who to log in as (asked on a terminal when left out)')
      .addHelpText(
        'after',
        '\nThe password is asked on a terminal; otherwise it is read from PE_PASSWORD or, failing that, standard input:\n  echo "$PASSWORD" | pe login --username admin',
      ),
  ).action(
    action(async (ctx) => {
      const interactive = Boolean(process.stdin.isTTY);
      const username = ctx.opts.username ?? (interactive ? await ask('username: ') : undefined);
      if (!username) throw new UsageError('--username is required when there is no terminal to ask on');
      let password = process.env.PE_PASSWORD;
      if (password === undefined) password = interactive ? await askHidden('password: ') : await readStdin();
      if (!password) throw new UsageError('no password given (type it, pipe it on standard input, or set PE_PASSWORD)');
      const reply = await ctx.client.request<TokenPair>('POST', '/v1/auth/login', { body: { username, password }, auth: false });
      ctx.client.store.save(ctx.client.url, loginFrom(username, reply.body));
      const shown = { url: ctx.client.url, username, expires_in: reply.body.expires_in, stored_in: ctx.client.store.file };
      emit(ctx.format, shown, () => `logged in to ${ctx.client.url} as ${username} (tokens stored in ${ctx.client.store.file})\n`);
    }),
  );

  withOutput(program.command('logout').description('end the stored login: the session on the server, and the stored tokens')).action(
    action(async (ctx) => {
      const url = apiUrl(ctx.opts);
      const store = ctx.client.store;
      const login = store.get(ctx.client.url);
      if (!login) {
        emit(ctx.format, { url, logged_out: false }, () => `not logged in to ${ctx.client.url}\n`);
        return;
      }
      let warning = '';
      try {
        const fresh = login.expires_at - 30_000 <= Date.now() ? await ctx.client.refresh(login.token) : login;
        await ctx.client.request('POST', '/v1/auth/logout', {
          auth: false,
          headers: { authorization: `Bearer ${fresh.token}` },
          body: { refresh_token: fresh.refresh_token },
        });
      } catch (err) {
        warning = err instanceof Error ? err.message : String(err);
      }
      store.remove(ctx.client.url);
      if (warning) process.stderr.write(`pe: the server did not end the session (${warning}); the stored tokens are removed\n`);
      emit(ctx.format, { url: ctx.client.url, logged_out: true }, () => `logged out of ${ctx.client.url}\n`);
    }),
  );
}

