/**
 * A watcher round on UpCloud that meets a refusal of the account's budget part-way through
 * keeps what it read: the waits it could judge are answered, the rest answer "waiting" with a
 * status saying they are read at the next look (and when the budget allows that), and the next
 * round begins where this one stopped, so the last pages of a big account are not left unread
 * round after round. It used to throw the whole round away at the first refusal.
 *
 * The refusals come from a scripted budget in the adapter's HTTP client (the same
 * RequestBudgetExhaustedError the shared budget throws, nothing sent); the servers from the
 * sandbox over HTTP.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestBudgetExhaustedError, deferredLook, type RequestBudget } from '../src/providers/request-budget.js';
import type { ServerWait, WaitCheck } from '../src/common/provider.js';
import { UpCloudProvider } from '../src/providers/upcloud/adapter.js';
import { startSandbox } from '../src/sandbox/server.js';
import { PROVIDER_REQUESTS } from './helpers/provider-requests.js';

const TOKEN = 'sandbox-upcloud-cut-short-token-0123456789';

/** Grants every take but the ones numbered in `refuse` (1-based, counted from the last `reset`). */
class ScriptedBudget implements RequestBudget {
  takes = 0;
  refuse = new Set<number>();
  reset(refuse: number[] = []): void {
    this.takes = 0;
    this.refuse = new Set(refuse);
  }
  async take(): Promise<void> {
    this.takes++;
    if (this.refuse.has(this.takes)) throw new RequestBudgetExhaustedError('upcloud', 1500);
  }
  async settle(): Promise<void> {}
}

test('upcloud: a round refused part-way answers for what it read, defers the rest, and the next round resumes the listing where it stopped', async (t) => {
  const sandbox = await startSandbox({ token: TOKEN, ssh: false, upcloud: { createDelayMs: 50, stopDelayMs: 50, restartDelayMs: 50, modifyDelayMs: 50 } });
  t.after(() => sandbox.close());
  const maker = new UpCloudProvider({ baseUrl: sandbox.baseUrls.upcloud!, token: TOKEN });
  const { plan, zone } = PROVIDER_REQUESTS.upcloud;
  const waits: ServerWait[] = [];
  for (let i = 0; i < 30; i++) {
    const { wait } = await maker.createServer({ name: `cut-${i}`, plan, zone, image: maker.defaultImage, tags: [], marker: `cut-${i}` }, {});
    assert.ok(wait);
    waits.push(wait);
  }
  for (let deadline = Date.now() + 10_000; ; ) {
    if ((await maker.listServers({})).every((s) => s.status === 'running')) break;
    assert.ok(Date.now() < deadline, 'the servers start');
    await new Promise((r) => setTimeout(r, 50));
  }
  // The listing's order, in pages of ten as the watcher's adapter reads it.
  const order = (await maker.listServers({})).map((s) => s.providerId);
  const pageOf = (wait: ServerWait) => Math.floor(order.indexOf(wait.providerId) / 10);

  const budget = new ScriptedBudget();
  const watcher = new UpCloudProvider({ baseUrl: sandbox.baseUrls.upcloud!, token: TOKEN, listPageSize: 10, http: { budget, retries: 0 } });
  const describe = (checks: WaitCheck[]) =>
    checks.map((c, i) => ({ page: pageOf(waits[i]!), state: c.state, status: c.state === 'waiting' ? c.status : '', later: deferredLook(c)?.retryAfterMs }));

  // Round 1: the second page is refused. The first page's servers are seen started (their
  // reads in full come at the next look); the others are not listed yet. No round thrown away.
  budget.reset([2]);
  const first = describe(await watcher.checkWaits(waits, {}));
  assert.equal(budget.takes, 2, 'nothing asked after the refusal');
  for (const check of first) {
    assert.equal(check.state, 'waiting');
    assert.equal(check.later, 2000, 'looked at again once the budget allows');
    assert.equal(check.status, check.page === 0 ? 'started (read in full at the next look)' : 'not listed yet (read at the next look)', JSON.stringify(check));
  }

  // Round 2 begins at the refused page; refused again after two pages, it has now seen the
  // second and third pages but not the first (a round starting over would have missed the third).
  budget.reset([3]);
  const second = describe(await watcher.checkWaits(waits, {}));
  for (const check of second) {
    assert.equal(check.status, check.page === 0 ? 'not listed yet (read at the next look)' : 'started (read in full at the next look)', JSON.stringify(check));
  }

  // Round 3 gets everything it asks for: the listing from where it stopped round to the first
  // page (four requests, the last page empty), then twenty reads in full; the other ten are
  // read at the next look, which may come at once.
  budget.reset();
  const third = await watcher.checkWaits(waits, {});
  assert.equal(budget.takes, 4 + 20);
  assert.equal(third.filter((c) => c.state === 'done').length, 20, JSON.stringify(describe(third)));
  const open = waits.filter((_, i) => third[i]!.state !== 'done');
  assert.deepEqual(open.map((w) => deferredLook(third[waits.indexOf(w)]!)?.retryAfterMs), open.map(() => 0));

  budget.reset();
  const fourth = await watcher.checkWaits(open, {});
  assert.deepEqual(fourth.map((c) => c.state), open.map(() => 'done'));
  for (const check of [...third, ...fourth]) {
    if (check.state !== 'done') continue;
    assert.equal(check.server?.status, 'running');
    assert.match(check.server?.ipv4 ?? '', /^\d+\.\d+\.\d+\.\d+$/);
  }
});
