import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cliSuite, shown, STACK_LINE } from './helpers/cli.js';

describe('pe login stores a private token that later commands use and refresh', () => {
  const cli = cliSuite({ workers: 0 }, { signedIn: false });
  const credentials = () => join(cli.home.configHome, 'pe', 'credentials.json');
  const stored = () => JSON.parse(readFileSync(credentials(), 'utf8')).logins[cli.sys.url];

  test('a wrong password prints the server\'s message, exits non-zero and stores nothing', async () => {
    const r = await cli.home.run(['login', '--username', 'admin'], { stdin: 'not-the-password\n' });
    assert.equal(r.code, 5, shown(r));
    assert.match(r.stderr, /invalid username or password/);
    assert.match(r.stderr, /INVALID_CREDENTIALS, HTTP 401/);
    assert.doesNotMatch(r.stderr, STACK_LINE);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    assert.throws(() => statSync(credentials()), /ENOENT/);
  });

  test('login with the password on stdin writes the tokens 0600 in a 0700 directory; commands then work without any token in the environment', async () => {
    const r = await cli.home.run(['login', '--username', 'admin'], { stdin: `${cli.sys.adminPassword}\n` });
    assert.equal(r.code, 0, shown(r));
    assert.match(r.stdout, /logged in to .* as admin/);
    assert.equal(statSync(credentials()).mode & 0o777, 0o600);
    assert.equal(statSync(join(cli.home.configHome, 'pe')).mode & 0o777, 0o700);
    const login = stored();
    assert.equal(login.username, 'admin');
    assert.match(login.refresh_token, /^pe_rt_/);
    assert.ok(login.expires_at > Date.now() + 10 * 60_000, 'the 15-minute expiry is kept');

    const list = await cli.home.run(['ops', 'list', '-o', 'json']);
    assert.equal(list.code, 0, shown(list));
    assert.ok(Array.isArray(JSON.parse(list.stdout)));
  });

  test('an expired access token is refreshed with the stored refresh token, and so is one the server refuses', async () => {
    const before = stored();
    writeFileSync(credentials(), JSON.stringify({ logins: { [cli.sys.url]: { ...before, expires_at: Date.now() - 1000 } } }));
    const r = await cli.home.run(['servers', 'list']);
    assert.equal(r.code, 0, shown(r));
    const refreshed = stored();
    assert.notEqual(refreshed.token, before.token);
    assert.notEqual(refreshed.refresh_token, before.refresh_token, 'the spent refresh token is replaced');
    assert.ok(refreshed.expires_at > Date.now());
    assert.equal(statSync(credentials()).mode & 0o777, 0o600, 'still private after the rewrite');

    // Not expired by the clock, but refused (401): refreshed once and the request sent again.
    writeFileSync(credentials(), JSON.stringify({ logins: { [cli.sys.url]: { ...refreshed, token: 'garbage' } } }), { mode: 0o600 });
    const again = await cli.home.run(['servers', 'list']);
    assert.equal(again.code, 0, shown(again));
    assert.notEqual(stored().token, 'garbage');
  });

  test('PE_TOKEN and PE_API_KEY win over the stored login', async () => {
    const r = await cli.home.run(['servers', 'list'], { env: { PE_TOKEN: 'not-a-valid-token' } });
    assert.equal(r.code, 5, shown(r));
    assert.match(r.stderr, /HTTP 401/);
    const key = await cli.sys.request('POST', '/v1/api-keys', { body: { name: 'cli-test' } });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const withKey = await cli.home.run(['ops', 'list'], { env: { PE_API_KEY: key.body.key } });
    assert.equal(withKey.code, 0, shown(withKey));
    const badKey = await cli.home.run(['ops', 'list'], { env: { PE_API_KEY: 'pe_nope_nope' } });
    assert.equal(badKey.code, 5, shown(badKey));
  });

  test('logout ends the session on the server and forgets the tokens', async () => {
    const login = stored();
    const r = await cli.home.run(['logout']);
    assert.equal(r.code, 0, shown(r));
    assert.match(r.stdout, /logged out/);
    assert.throws(() => stored());
    const refresh = await cli.sys.request('POST', '/v1/auth/refresh', { body: { refresh_token: login.refresh_token }, auth: false });
    assert.equal(refresh.status, 401, 'the session is over');
    const after = await cli.home.run(['servers', 'list']);
    assert.equal(after.code, 5, shown(after));
    assert.match(after.stderr, /not logged in to .*: run "pe login"/);
  });

  test('without XDG_CONFIG_HOME the tokens go under ~/.config/pe; PE_PASSWORD is read when set', async () => {
    const r = await cli.home.run(['login', '--username', 'admin'], { env: { XDG_CONFIG_HOME: undefined, PE_PASSWORD: cli.sys.adminPassword } });
    assert.equal(r.code, 0, shown(r));
    const file = join(cli.home.dir, '.config', 'pe', 'credentials.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const list = await cli.home.run(['servers', 'list'], { env: { XDG_CONFIG_HOME: undefined } });
    assert.equal(list.code, 0, shown(list));
  });
});
