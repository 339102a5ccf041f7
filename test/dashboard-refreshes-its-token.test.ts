import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserUnavailable, openBrowser, signIn, type Browser } from './helpers/browser.js';
import { TestSystem } from './helpers/system.js';

const skip = browserUnavailable() ?? false;

describe('the dashboard keeps its session with the refresh token', { skip }, () => {
  let sys: TestSystem;
  let browser: Browser;
  before(async () => {
    sys = await TestSystem.start({ workers: 0 });
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await sys?.stop();
  });

  test('an access token the API refuses is exchanged once for a new pair; a refused refresh shows the sign-in form', async () => {
    const { page } = browser;
    await signIn(page, sys.url, 'admin', sys.adminPassword);
    const first = await page.evaluate(() => ({ access: sessionStorage.getItem('pe.access_token'), refresh: sessionStorage.getItem('pe.refresh_token') }));
    assert.ok(first.access && first.refresh?.startsWith('pe_rt_'));
    assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing outlives the tab');

    // As if it had expired: every request of the next page (list, event stream, workspaces) gets a 401 first.
    await page.evaluate(() => sessionStorage.setItem('pe.access_token', 'expired'));
    await page.getByRole('link', { name: 'Servers' }).click();
    await page.getByTestId('no-servers').waitFor();
    const second = await page.evaluate(() => ({ access: sessionStorage.getItem('pe.access_token'), refresh: sessionStorage.getItem('pe.refresh_token') }));
    assert.notEqual(second.access, 'expired');
    assert.notEqual(second.refresh, first.refresh, 'the refresh token was spent and replaced');
    // One exchange, not one per request: the new refresh token still works (a second exchange of
    // the spent one would have revoked the whole session).
    const check = await fetch(`${sys.url}/v1/auth/me`, { headers: { authorization: `Bearer ${second.access}` } });
    assert.equal(check.status, 200);

    // A refresh the API refuses ends the session in the tab: the form again.
    await page.evaluate(() => {
      sessionStorage.setItem('pe.access_token', 'expired');
      sessionStorage.setItem('pe.refresh_token', 'pe_rt_not-a-token');
    });
    await page.getByRole('link', { name: 'Operations' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('pe.access_token')), null);
  });
});
