import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserUnavailable, openBrowser, signIn, type Browser } from './helpers/browser.js';
import { http } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';

const skip = browserUnavailable() ?? false;

describe('the dashboard cancels a running create', { skip }, () => {
  let sys: TestSystem;
  let browser: Browser;
  before(async () => {
    // A droplet takes 20 s to boot: the create is still running when the test cancels it.
    sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 20000 });
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await sys?.stop();
  });

  test('cancel, confirmed in its dialog, ends the create cancelled and the server is gone from the provider and the inventory', async () => {
    const { page } = browser;
    const op = await sys.createServer({ hostname: 'cancel-me' });
    await signIn(page, sys.url, 'admin', sys.adminPassword, `#/operations/${op.id}`);
    await page.getByTestId('op-status').locator('[data-status="running"]').waitFor({ timeout: 10000 });
    // The provider has the half-made server before the cancel.
    await sys.eventually(async () => ((await sys.serversMarkedBy('digitalocean', op.id)).length === 1 ? true : undefined), 'the droplet to exist');

    // The dialog asks first; "Keep it" changes nothing.
    await page.getByTestId('cancel').click();
    const dialog = page.getByRole('dialog', { name: 'Cancel this operation?' });
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? '', /removes what it has made/);
    await browser.screenshot('cancel-dialog');
    await dialog.getByRole('button', { name: 'Keep it' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal((await sys.request('GET', `/v1/operations/${op.id}`)).body.cancel_requested_at, null);

    // Keyboard: the button, Enter, then the dialog's confirm.
    await page.getByTestId('cancel').focus();
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    await dialog.getByTestId('cancel-confirm').click();
    await page.getByTestId('op-status').locator('[data-status="cancelled"]').waitFor({ timeout: 15000 });
    await page.getByRole('status').getByText('Cancel requested').waitFor();
    const timeline = (await page.getByTestId('timeline').textContent()) ?? '';
    assert.match(timeline, /cancel requested by admin/);
    assert.match(timeline, /running → cancelled/);
    assert.equal(await page.getByTestId('cancel').count(), 0, 'no cancel button once cancelled');
    await browser.screenshot('cancel-done');

    const ended = (await sys.request('GET', `/v1/operations/${op.id}`)).body;
    assert.equal(ended.status, 'cancelled');
    assert.equal((await sys.serversMarkedBy('digitalocean', op.id)).length, 0, 'the droplet was deleted');

    // The inventory page has no such server.
    await page.goto(`${sys.url}/ui/#/servers`);
    await page.getByRole('heading', { name: 'Servers' }).waitFor();
    await page.getByText('No server.').waitFor();
    assert.equal(await page.locator('tr[data-hostname="cancel-me"]').count(), 0);
    const inventory = (await sys.request('GET', '/v1/servers?workspace=production')).body as Array<{ hostname: string; status: string }>;
    assert.equal(inventory.filter((s) => s.hostname === 'cancel-me' && s.status !== 'gone').length, 0);
    assert.deepEqual(browser.problems, []);
  });

  test('the cancelled create offers retry: confirmed, a new operation linked to it is accepted', async () => {
    const { page } = browser;
    const [cancelled] = (await sys.request('GET', '/v1/operations?status=cancelled')).body as Array<{ id: string }>;
    await page.goto(`${sys.url}/ui/#/operations/${cancelled!.id}`);
    await page.getByTestId('op-status').locator('[data-status="cancelled"]').waitFor();
    await page.getByTestId('retry').click();
    await page.getByRole('dialog', { name: 'Retry this operation?' }).getByTestId('retry-confirm').click();
    const notice = page.getByRole('status').filter({ hasText: 'Retried: new operation' });
    await notice.waitFor();
    await notice.getByRole('link', { name: 'open it' }).click();
    await page.getByRole('link', { name: cancelled!.id }).waitFor();
    const retried = (await sys.request('GET', `/v1/operations/${cancelled!.id}`)).body;
    assert.ok(retried.retried_by, JSON.stringify(retried));
    assert.equal(page.url().split('#')[1], `/operations/${retried.retried_by}`);
    assert.equal((await sys.request('GET', `/v1/operations/${retried.retried_by}`)).body.retry_of, cancelled!.id);
    await sys.request('POST', `/v1/operations/${retried.retried_by}/cancel`);
  });

  test('a viewer signed in with an API key sees who it is and gets no cancel button', async () => {
    const made = await sys.request('POST', '/v1/users', { body: { username: 'onlooker', password: 'onlooker-password-1', role: 'viewer', workspaces: ['production'] } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const login = await http(sys.url, 'POST', '/v1/auth/login', { body: { username: 'onlooker', password: 'onlooker-password-1' } });
    const key = await http(sys.url, 'POST', '/v1/api-keys', { token: login.body.token, body: { name: 'dashboard' } });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const op = await sys.createServer({ hostname: 'watch-only' });
    await sys.waitForStatus(op.id, ['running']);

    const viewer = await openBrowser();
    try {
      const { page } = viewer;
      await page.goto(`${sys.url}/ui/#/operations/${op.id}`);
      await page.getByText('Use an API key instead').click();
      await page.getByLabel('API key').fill(key.body.key);
      await page.getByRole('button', { name: 'Use this key' }).click();
      await page.getByTestId('username').getByText('onlooker', { exact: true }).waitFor();
      assert.match((await page.getByTestId('who').textContent()) ?? '', /API key/);
      assert.match((await page.getByTestId('role').textContent()) ?? '', /viewer/);
      await page.getByTestId('op-status').locator('[data-status="running"]').waitFor();
      assert.equal(await page.getByTestId('cancel').count(), 0, 'a viewer may not cancel');
      // The key goes as X-API-Key and is kept for this tab only.
      assert.equal(await page.evaluate(() => localStorage.length), 0);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('pe.api_key')), key.body.key);
      assert.deepEqual(viewer.problems, []);
    } finally {
      await viewer.close();
    }
    await sys.request('POST', `/v1/operations/${op.id}/cancel`);
  });
});
