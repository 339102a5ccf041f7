import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserUnavailable, openBrowser, signIn, type Browser } from './helpers/browser.js';
import { TestSystem } from './helpers/system.js';

const skip = browserUnavailable() ?? false;

describe('the servers page runs power actions, resizes and deletes as operations', { skip }, () => {
  let sys: TestSystem;
  let browser: Browser;
  before(async () => {
    sys = await TestSystem.start({ workers: 1, doActiveDelayMs: 300, doActionDelayMs: 300 });
    browser = await openBrowser({ width: 1400, height: 900 });
  });
  after(async () => {
    await browser?.close();
    await sys?.stop();
  });

  test('power off, resize, power on and delete, each confirmed, each linked to its operation', async () => {
    const { page } = browser;
    const created = await sys.waitForStatus((await sys.createServer({ hostname: 'act-01' })).id, ['completed']);
    const id = String(created.result!.server_id);
    await signIn(page, sys.url, 'admin', sys.adminPassword, '#/servers');
    const row = page.locator(`tr[data-server="${id}"]`);
    // The price comes from the catalogue, read beside the inventory.
    await row.getByRole('cell', { name: '6.00 USD/mo', exact: true }).waitFor();
    const text = (await row.textContent()) ?? '';
    for (const shown of ['act-01', 'digitalocean', 's-1vcpu-1gb', 'nyc3', String(created.result!.ip_address), '6.00 USD/mo', 'production']) assert.ok(text.includes(shown), `row shows ${shown}: ${text}`);
    await page.getByTestId('catalogue').getByRole('rowheader', { name: /1 vCPU, 1 GB/ }).waitFor();

    /** Clicks a row's button, confirms, follows the link to the operation, waits for it to complete and comes back. */
    const run = async (testId: string, confirm: string, verb: string, expectStatus: string) => {
      await page.getByTestId(testId).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByRole('button', { name: confirm }).click();
      const link = page.getByTestId('accepted').locator('li').filter({ hasText: verb }).first().getByRole('link');
      await link.click();
      await page.getByTestId('op-status').locator('[data-status="completed"]').waitFor({ timeout: 15000 });
      await page.goBack();
      await page.locator(`tr[data-server="${id}"] [data-status="${expectStatus}"]`).waitFor({ timeout: 10000 });
    };

    await run(`power_off-${id}`, 'Power off', 'Power off', 'stopped');
    // Resize to the first plan offered (a bigger droplet), while off as DigitalOcean needs.
    await page.getByTestId(`resize-${id}`).click();
    const resize = page.getByRole('dialog', { name: 'Resize act-01?' });
    const plan = await resize.getByLabel('New plan').inputValue();
    assert.ok(plan && plan !== 's-1vcpu-1gb');
    await resize.getByRole('button', { name: 'Resize' }).click();
    await page.getByTestId('accepted').locator('li').filter({ hasText: 'Resize' }).first().getByRole('link').click();
    await page.getByTestId('op-status').locator('[data-status="completed"]').waitFor({ timeout: 15000 });
    await page.goBack();
    await page.locator(`tr[data-server="${id}"]`).filter({ hasText: plan }).waitFor({ timeout: 10000 });
    assert.equal((await sys.request('GET', `/v1/servers/${id}/status`)).body.plan, plan);

    await run(`power_on-${id}`, 'Power on', 'Power on', 'running');
    await page.getByTestId(`delete-${id}`).click();
    await page.getByRole('dialog', { name: 'Delete act-01?' }).getByRole('button', { name: 'Delete server' }).click();
    await page.getByTestId('accepted').locator('li').filter({ hasText: 'Delete' }).first().getByRole('link').click();
    await page.getByTestId('op-status').locator('[data-status="completed"]').waitFor({ timeout: 15000 });
    assert.equal((await sys.serversMarkedBy('digitalocean', created.id)).length, 0, 'the droplet is gone');
    const types = ((await sys.request('GET', '/v1/operations?workspace=production')).body as Array<{ type: string; status: string }>).map((o) => `${o.type}:${o.status}`);
    assert.deepEqual(types.sort(), ['server.action:completed', 'server.action:completed', 'server.create:completed', 'server.delete:completed', 'server.resize:completed']);
    await browser.screenshot('servers-after-actions');
    assert.deepEqual(browser.problems, []);
  });
});
