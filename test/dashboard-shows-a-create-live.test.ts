import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserUnavailable, openBrowser, signIn, type Browser } from './helpers/browser.js';
import { TestSystem } from './helpers/system.js';

const skip = browserUnavailable() ?? false;

/** Records every status a row or badge shows, in order, as the page changes (no polling gaps). */
const RECORD_STATUSES = `
  window.__statuses = [];
  const seen = (s) => { if (s && window.__statuses[window.__statuses.length - 1] !== s) window.__statuses.push(s); };
  const look = () => {
    const el = document.querySelector(window.__watch);
    if (el) seen(el.getAttribute('data-status'));
  };
  new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
  look();
`;

describe('the dashboard shows a create as it happens', { skip }, () => {
  let sys: TestSystem;
  let browser: Browser;
  before(async () => {
    // No worker yet: the create stays pending until the test starts one. Droplets take 3 s to boot, so running lasts.
    sys = await TestSystem.start({ workers: 0, doActiveDelayMs: 3000 });
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await sys?.stop();
  });

  test('signed in through the form, a create submitted through the API goes pending → running → completed in its row and on its page without a reload', async () => {
    const { page } = browser;
    await signIn(page, sys.url, 'admin', sys.adminPassword, '#/operations');
    await page.getByTestId('role').getByText('global admin').waitFor();
    await page.getByTestId('live').getByText('live').waitFor();
    // Marks this document: a reload would lose it.
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

    const op = await sys.createServer({ hostname: 'live-01' });
    const row = page.locator(`tr[data-operation="${op.id}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-status'), 'pending');
    assert.match((await row.textContent()) ?? '', /live-01/);

    // Its page, reached by the link in its row.
    await row.getByRole('link').click();
    await page.getByTestId('op-status').locator('[data-status="pending"]').waitFor();
    await page.evaluate(`window.__watch = '[data-testid="op-status"] [data-status]'; ${RECORD_STATUSES}`);

    await sys.startWorker();
    await page.getByTestId('op-status').locator('[data-status="running"]').waitFor({ timeout: 10000 });
    await browser.screenshot('create-live-running');
    await page.getByTestId('op-status').locator('[data-status="completed"]').waitFor({ timeout: 15000 });
    const seen = await page.evaluate(() => (window as unknown as { __statuses: string[] }).__statuses);
    assert.deepEqual(seen, ['pending', 'running', 'completed']);

    // The timeline holds every transition, the log the engine's steps, the result the server.
    const timeline = (await page.getByTestId('timeline').textContent()) ?? '';
    assert.match(timeline, /accepted: pending[\s\S]*pending → running[\s\S]*running → completed/);
    await page.getByTestId('log').getByText(/is running at \d+\.\d+\.\d+\.\d+/).waitFor();
    assert.match((await page.getByText(/"server_id": "srv-/).textContent()) ?? '', /srv-/);
    // Nothing to cancel or retry once completed.
    assert.equal(await page.getByTestId('cancel').count(), 0);
    await browser.screenshot('create-live-completed');

    // Back in the list, the row says completed too.
    await page.goBack();
    await page.locator(`tr[data-operation="${op.id}"][data-status="completed"]`).waitFor();

    // Staying on the list: a second create's row appears and changes by itself.
    await page.getByTestId('live').getByText('live').waitFor();
    await page.evaluate(`window.__watch = 'tr[data-operation]'; ${RECORD_STATUSES}`);
    const second = await sys.createServer({ hostname: 'live-02' });
    const secondRow = page.locator(`tr[data-operation="${second.id}"]`);
    await secondRow.waitFor();
    assert.equal(await page.locator('tr[data-operation]').first().getAttribute('data-operation'), second.id, 'newest first');
    await page.locator(`tr[data-operation="${second.id}"][data-status="completed"]`).waitFor({ timeout: 15000 });
    const rowStatuses = await page.evaluate(() => (window as unknown as { __statuses: string[] }).__statuses);
    assert.deepEqual(rowStatuses.slice(-2), ['running', 'completed'], rowStatuses.join(' → '));
    assert.equal(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'the page was never reloaded');
    assert.deepEqual(browser.problems, [], 'no console errors (a content-security policy refusal would be one)');
  });

  test('a wrong password is refused on the form and nothing is kept', async () => {
    const other = await openBrowser();
    try {
      await other.page.goto(`${sys.url}/ui/`);
      await other.page.getByLabel('Username').fill('admin');
      await other.page.getByLabel('Password').fill('not-the-password');
      await other.page.getByRole('button', { name: 'Sign in' }).click();
      await other.page.getByRole('alert').getByText(/invalid username or password/).waitFor();
      assert.equal(await other.page.evaluate(() => sessionStorage.length), 0, 'nothing kept');
    } finally {
      await other.close();
    }
  });
});
