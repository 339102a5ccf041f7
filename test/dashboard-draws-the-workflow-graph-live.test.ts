import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserUnavailable, openBrowser, signIn, type Browser } from './helpers/browser.js';
import { TestSystem } from './helpers/system.js';
import { DO_CREATE, submitWorkflow } from './helpers/workflows.js';

const skip = browserUnavailable() ?? false;

interface Change {
  step: string;
  status: string;
  fill: string;
  at: number;
}

/** Records each graph node's status and fill colour whenever one changes. */
const RECORD_NODES = `
  window.__changes = [];
  const last = {};
  const look = () => {
    for (const g of document.querySelectorAll('[data-testid="dag"] [data-step]')) {
      const step = g.getAttribute('data-step');
      const status = g.getAttribute('data-status');
      if (last[step] === status) continue;
      last[step] = status;
      const rect = g.querySelector('rect');
      window.__changes.push({ step, status, fill: rect ? getComputedStyle(rect).fill : '', at: performance.now() });
    }
  };
  new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
  look();
`;

describe('the dashboard draws a workflow graph live', { skip }, () => {
  let sys: TestSystem;
  let browser: Browser;
  before(async () => {
    // Seconds per step, so each is seen running.
    sys = await TestSystem.start({ workers: 0, doActiveDelayMs: 2500, doActionDelayMs: 2000 });
    browser = await openBrowser({ width: 1280, height: 1000 });
  });
  after(async () => {
    await browser?.close();
    await sys?.stop();
  });

  test('the steps of a dependent chain are drawn as a DAG whose nodes change colour step by step', async () => {
    const { page } = browser;
    const wf = await submitWorkflow(sys, {
      workflow_type: 'custom',
      parameters: {
        steps: [
          { id: 'create', type: 'server.create', parameters: { ...DO_CREATE, hostname: 'graph-a' } },
          { id: 'create-b', type: 'server.create', parameters: { ...DO_CREATE, hostname: 'graph-b' } },
          { id: 'power-off', type: 'server.action', depends_on: ['create'], parameters: { server_id: '${steps.create.result.server_id}', action: 'power_off' } },
          { id: 'power-on', type: 'server.action', depends_on: ['power-off', 'create-b'], parameters: { server_id: '${steps.create.result.server_id}', action: 'power_on' } },
        ],
      },
    });
    await signIn(page, sys.url, 'admin', sys.adminPassword, '#/workflows');
    await page.locator(`tr[data-workflow="${wf.id}"]`).getByRole('link').click();
    const dag = page.getByTestId('dag');
    await dag.locator('[data-step="power-on"][data-status="waiting"]').waitFor();

    // Laid out top to bottom: each step below what it depends on.
    const y = async (id: string) => (await dag.locator(`[data-step="${id}"]`).boundingBox())!.y;
    assert.ok((await y('power-off')) > (await y('create')), 'power-off below create');
    assert.ok((await y('power-on')) > (await y('power-off')), 'power-on below power-off');
    assert.ok((await y('power-on')) > (await y('create-b')), 'power-on below create-b');
    assert.equal(await dag.locator('.edge').count(), 3);

    await page.evaluate(RECORD_NODES);
    await sys.startWorker();
    await dag.locator('[data-step="create"][data-status="running"]').waitFor({ timeout: 10000 });
    await browser.screenshot('workflow-graph-running');
    await dag.locator('[data-step="power-on"][data-status="completed"]').waitFor({ timeout: 25000 });
    await page.getByTestId('wf-status').locator('[data-status="completed"]').waitFor({ timeout: 10000 });
    await page.getByTestId('waterfall').locator('rect').first().waitFor();
    assert.equal(await page.getByTestId('waterfall').locator('rect').count(), 4, 'a bar per step');
    await browser.screenshot('workflow-graph-completed');

    const changes = await page.evaluate(() => (window as unknown as { __changes: Change[] }).__changes);
    const of = (step: string) => changes.filter((c) => c.step === step);
    const firstAt = (step: string, status: string) => of(step).find((c) => c.status === status)?.at;
    for (const step of ['create', 'create-b', 'power-off', 'power-on']) {
      const statuses = of(step).map((c) => c.status);
      assert.ok(statuses.includes('running'), `${step} was seen running: ${statuses.join(' → ')}`);
      assert.equal(statuses.at(-1), 'completed', `${step}: ${statuses.join(' → ')}`);
      // Each status its own colour.
      const fills = new Set(of(step).map((c) => c.fill));
      assert.ok(fills.size >= 2, `${step} changed colour: ${[...fills].join(', ')}`);
    }
    const colour = (status: string) => changes.find((c) => c.status === status)!.fill;
    assert.notEqual(colour('running'), colour('completed'));
    // Step by step: a dependant is never shown running before what it depends on is shown
    // completed (one refresh may show both at once).
    const order = changes.map((c) => `${c.step}:${c.status}`).join(', ');
    assert.ok(firstAt('power-off', 'running')! >= firstAt('create', 'completed')!, `power-off after create: ${order}`);
    assert.ok(firstAt('power-on', 'running')! >= firstAt('power-off', 'completed')!, `power-on after power-off: ${order}`);
    assert.ok(firstAt('power-on', 'running')! >= firstAt('create-b', 'completed')!, `power-on after create-b: ${order}`);
    // And the chain took several refreshes: the colours changed step by step, not all at the end.
    assert.ok(firstAt('power-on', 'running')! > firstAt('create', 'running')!, order);

    // A node leads to its step's operation, which links back to the workflow.
    await dag.getByRole('link', { name: /step power-off/ }).click();
    await page.getByTestId('parent-link').waitFor();
    assert.equal(await page.getByTestId('parent-link').textContent(), wf.id);
    assert.deepEqual(browser.problems, []);
  });

  test('cancel workflow, confirmed, ends it cancelled and its nodes say so', async () => {
    const { page } = browser;
    const wf = await submitWorkflow(sys, {
      workflow_type: 'custom',
      parameters: {
        steps: [
          { id: 'create', type: 'server.create', parameters: { ...DO_CREATE, hostname: 'graph-c' } },
          { id: 'power-off', type: 'server.action', depends_on: ['create'], parameters: { server_id: '${steps.create.result.server_id}', action: 'power_off' } },
        ],
      },
    });
    await page.goto(`${sys.url}/ui/#/workflows/${wf.id}`);
    const dag = page.getByTestId('dag');
    await dag.locator('[data-step="create"][data-status="running"]').waitFor({ timeout: 10000 });
    await page.getByTestId('cancel-workflow').click();
    await page.getByRole('dialog', { name: 'Cancel this workflow?' }).getByTestId('cancel-workflow-confirm').click();
    await page.getByTestId('wf-status').locator('[data-status="cancelled"]').waitFor({ timeout: 15000 });
    await dag.locator('[data-step="create"][data-status="cancelled"]').waitFor({ timeout: 10000 });
    assert.notEqual(await dag.locator('[data-step="power-off"]').getAttribute('data-status'), 'running');
    assert.equal(await page.getByTestId('cancel-workflow').count(), 0);
    assert.equal((await sys.serversMarkedBy('digitalocean', (await sys.request('GET', `/v1/workflows/${wf.id}`)).body.steps[0].operation_id)).length, 0, 'the half-made server was removed');
    await browser.screenshot('workflow-cancelled');
  });
});
