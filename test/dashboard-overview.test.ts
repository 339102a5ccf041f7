import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { dashboard } from '../src/api/ui.js';
import { browserUnavailable, openBrowser, signIn, type Browser } from './helpers/browser.js';
import { http } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';
import { PROVIDER_REQUESTS } from './helpers/provider-requests.js';

const skip = browserUnavailable() ?? false;
const VIEWER_PASSWORD = 'viewer-password-123';

describe('the overview', () => {
  let sys: TestSystem;
  let parked: string;
  before(async () => {
    sys = await TestSystem.start({
      workers: 2,
      // Droplets take long to boot, so a DigitalOcean create waits (parked) while the test looks.
      doActiveDelayMs: 30000,
      // Budgets configured, so they have something to show (the sandbox itself does not limit).
      env: { RATE_LIMIT_DIGITALOCEAN: '250/1m,5000/1h', RATE_LIMIT_HETZNER: '3600/1h' },
    });
    // Two creates that complete, side by side (the overview counts them, not their order).
    await Promise.all(['ov-1', 'ov-2'].map(async (hostname) => {
      const op = await sys.createServer({ provider: 'hetzner', plan: PROVIDER_REQUESTS.hetzner.plan, zone: PROVIDER_REQUESTS.hetzner.zone, hostname });
      await sys.waitForStatus(op.id, ['completed']);
    }));
    const cancelled = await sys.createServer({ hostname: 'ov-cancel', workspace: 'staging' });
    await sys.waitForStatus(cancelled.id, ['running']);
    await sys.request('POST', `/v1/operations/${cancelled.id}/cancel`);
    await sys.waitForStatus(cancelled.id, ['cancelled']);
    parked = (await sys.createServer({ hostname: 'ov-wait' })).id;
    await sys.waitForStatus(parked, ['running']);
  });
  after(async () => {
    await sys?.stop();
  });

  test('GET /v1/overview: counts, the last hour per minute, queues, budgets and workers for a global admin', async () => {
    const res = await sys.request('GET', '/v1/overview');
    assert.equal(res.status, 200);
    const o = res.body;
    assert.equal(o.workspaces, null);
    assert.deepEqual({ ...o.counts }, { total: 4, pending: 0, running: 1, completed: 2, failed: 0, cancelled: 1 });
    assert.equal(o.throughput.minutes.length, 60);
    assert.equal(o.throughput.completed, 2);
    assert.equal(o.throughput.cancelled, 1);
    assert.equal(o.throughput.finished, 3);
    assert.equal(o.throughput.failure_rate, 0);
    const last = o.throughput.minutes.slice(-2).reduce((n: number, m: { completed: number }) => n + m.completed, 0);
    assert.equal(last, 2, 'counted in the minutes they finished');
    const doQueue = o.queues.find((q: { provider: string }) => q.provider === 'digitalocean');
    assert.equal(doQueue.delayed + doQueue.active + doQueue.waiting, 1, JSON.stringify(o.queues));
    assert.ok(o.queues.some((q: { queue: string }) => q.queue === 'workflows'));
    const doBudget = o.rate_budgets.find((b: { provider: string }) => b.provider === 'digitalocean');
    assert.deepEqual(doBudget.windows.map((w: { window_ms: number; limit: number }) => [w.window_ms, w.limit]), [[60000, 250], [3600000, 5000]]);
    assert.ok(doBudget.windows[0].used >= 2, 'the creates spent requests');
    const hBudget = o.rate_budgets.find((b: { provider: string }) => b.provider === 'hetzner');
    assert.equal(hBudget.bucket.capacity, 3600);
    assert.ok(hBudget.bucket.tokens < 3600);
    assert.equal(o.workers.length, 2);
    for (const w of o.workers) {
      assert.equal(typeof w.pid, 'number');
      assert.ok(w.queues.includes('operations-digitalocean') && w.queues.includes('workflows'));
      assert.ok(Date.now() - Date.parse(w.last_seen) < 15000);
    }
  });

  test("a viewer sees only its workspaces' counts and nothing about the whole system", async () => {
    const made = await sys.request('POST', '/v1/users', { body: { username: 'watcher', password: VIEWER_PASSWORD, role: 'viewer', workspaces: ['staging'] } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const login = await http(sys.url, 'POST', '/v1/auth/login', { body: { username: 'watcher', password: VIEWER_PASSWORD } });
    const res = await http(sys.url, 'GET', '/v1/overview', { token: login.body.token });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.workspaces, ['staging']);
    assert.deepEqual({ ...res.body.counts }, { total: 1, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 1 });
    assert.equal(res.body.throughput.finished, 1);
    assert.equal(res.body.queues, null);
    assert.equal(res.body.rate_budgets, null);
    assert.equal(res.body.workers, null);
    const me = await http(sys.url, 'GET', '/v1/auth/me', { token: login.body.token });
    assert.equal(me.status, 200);
    assert.deepEqual(me.body.workspaces, { staging: 'viewer' });
    assert.equal(me.body.admin, false);
    assert.ok(me.body.permissions.workspaces.staging.includes('operation_read'));
    assert.ok(!me.body.permissions.workspaces.staging.includes('operation_cancel'));
    assert.equal((await http(sys.url, 'GET', '/v1/overview')).status, 401);
  });

  test('the dashboard is served under its own content-security policy; unbuilt, it answers 503 saying how to build it', async () => {
    const page = await fetch(`${sys.url}/ui/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.doesNotMatch(await page.text(), /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    // An unknown path under /ui/ is the page (hash routes), the API keeps its own policy.
    assert.equal((await fetch(`${sys.url}/ui/operations/x`)).status, 200);
    assert.match((await fetch(`${sys.url}/health`)).headers.get('content-security-policy') ?? '', /default-src 'none'/);

    const bare = express().use('/ui', dashboard('/nonexistent/dist/ui/'));
    const server = bare.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/ui/`);
      assert.equal(res.status, 503);
      assert.match((await res.json()).message, /npm run build:ui/);
    } finally {
      server.close();
    }
  });

  test('a worker stopped cleanly removes its heartbeat at once', async () => {
    const before = (await sys.request('GET', '/v1/overview')).body.workers.length;
    assert.equal(before, 2);
    await sys.workers[1]!.kill('SIGTERM');
    const after = (await sys.request('GET', '/v1/overview')).body.workers;
    assert.equal(after.length, 1, 'gone without waiting for its record to lapse');
    assert.match(after[0].id, /^worker-1@/);
  });

  describe('in the browser', { skip }, () => {
    let browser: Browser;
    before(async () => {
      browser = await openBrowser({ width: 1280, height: 900 });
    });
    after(async () => {
      await browser?.close();
    });

    test('counts, throughput, queue depth, budgets and heartbeats are shown; at 375 px nothing overflows sideways', async () => {
      const { page } = browser;
      const paused = await sys.request('POST', '/v1/intake/pauses', { body: { scope: 'provider', name: 'vultr', reason: 'provider maintenance' } });
      assert.equal(paused.status, 201, JSON.stringify(paused.body));
      await signIn(page, sys.url, 'admin', sys.adminPassword);
      const api = (await sys.request('GET', '/v1/overview')).body;
      await page.getByTestId('intake-pauses').getByText(/provider vultr: provider maintenance/).waitFor();
      for (const s of ['pending', 'running', 'completed', 'failed', 'cancelled'] as const) {
        await page.getByTestId(`count-${s}`).locator('.card-number').getByText(String(api.counts[s]), { exact: true }).waitFor();
      }
      assert.equal(await page.getByTestId('count-total').textContent(), String(api.counts.total));
      await page.getByTestId('throughput').getByText(/3 finished: 2 completed, 0 failed, 1 cancelled/).waitFor();
      assert.ok((await page.locator('svg.chart rect').count()) >= 2, 'bars drawn');
      const doRow = page.locator('[data-testid="queues"] tr[data-queue="operations-digitalocean"]');
      const depth = Number(await doRow.locator('[data-col="delayed"]').textContent()) + Number(await doRow.locator('[data-col="active"]').textContent()) + Number(await doRow.locator('[data-col="waiting"]').textContent());
      assert.equal(depth, 1);
      await page.getByTestId('budgets').getByText(/of 250 left per 1 min/).waitFor();
      await page.getByTestId('budgets').getByText(/of 3600 tokens/).waitFor();
      assert.ok((await page.getByTestId('budgets').locator('meter').count()) >= 3);
      // Heartbeats: the worker left running (the other was stopped above).
      await page.locator('[data-testid="workers"] tbody tr').first().waitFor();
      assert.equal(await page.locator('[data-testid="workers"] tbody tr').count(), api.workers.length);
      assert.match((await page.getByTestId('workers').textContent()) ?? '', /worker-1/);
      await browser.screenshot('overview-wide');

      await page.setViewportSize({ width: 375, height: 812 });
      await page.waitForTimeout(300);
      const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth, body: document.body.scrollWidth }));
      assert.ok(widths.scroll <= 375 && widths.body <= 375, `no horizontal overflow at 375 px: ${JSON.stringify(widths)}`);
      await page.getByTestId('count-completed').waitFor();
      await browser.screenshot('overview-375');

      // Keyboard: the main navigation is reachable and works without a mouse.
      await page.getByRole('link', { name: 'Operations' }).focus();
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: /Operations/ }).waitFor();
      const opsWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(opsWidth <= 375, `operations page fits 375 px: ${opsWidth}`);
      await browser.screenshot('operations-375');
      // The other pages fit too: wide tables scroll inside their own box.
      for (const [hash, ready] of [
        ['#/workflows', ''],
        ['#/servers', 'servers'],
        [`#/operations/${parked}`, 'timeline'],
      ] as const) {
        await page.goto(`${sys.url}/ui/${hash}`);
        if (ready) await page.getByTestId(ready).waitFor();
        else await page.getByRole('heading', { name: 'Workflows' }).waitFor();
        await page.waitForTimeout(200);
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= 375, `${hash} fits 375 px: ${width}`);
      }
      await browser.screenshot('operation-375');
      assert.deepEqual(browser.problems, []);
    });
  });
});
