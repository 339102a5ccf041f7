/**
 * Polls keep a floor share of a provider account's budget however hard mutations press.
 *
 * Mutations may use the whole limit and polls leave a reserve, so mutations that keep asking
 * for every request that frees up (hundreds of creates, deletes and actions queued on one
 * account) used to take all of it: the watcher's polls were refused round after round, no
 * wait ended, and no started operation finished. Here several "processes" (one Redis
 * connection each) take mutations in tight loops while one watcher-like loop polls: the polls
 * must still get about a quarter of each window (of the bucket's refill for Hetzner), and the
 * account's limit must hold throughout.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import type { RateLimitWindow } from '../src/core/config.js';
import { Keys } from '../src/core/keys.js';
import { createRequestBudgets } from '../src/core/rate-budget/index.js';
import { connectRedis } from '../src/core/redis.js';
import { RequestBudgetExhaustedError, type RequestBudget, type RequestPriority } from '../src/providers/request-budget.js';
import type { ProviderName } from '../src/common/provider.js';
import { startTestRedis, type TestRedis } from './helpers/redis-server.js';

let redis: TestRedis;
const connections: Redis[] = [];

before(async () => {
  redis = await startTestRedis();
});
after(async () => {
  await Promise.all(connections.map((c) => c.quit().catch(() => undefined)));
  await redis.stop();
});

function processBudget(prefix: string, provider: ProviderName, windows: RateLimitWindow[]): RequestBudget {
  const connection = connectRedis(redis.url, 'poll-floor-test');
  connections.push(connection);
  const rateLimits = { digitalocean: null, hetzner: null, vultr: null, upcloud: null, [provider]: windows };
  return createRequestBudgets(connection, new Keys(prefix), { rateLimits })(provider, 'acct');
}

interface Grant {
  at: number;
  priority: RequestPriority;
}

/**
 * `processes` budgets of one account, each with `loops` mutation loops that ask again the
 * moment they are refused, and one poll loop that asks one request after another the way the
 * watcher's round does. Returns every grant, the mutations' refusals, and when it started.
 */
async function press(provider: ProviderName, windows: RateLimitWindow[], opts: { processes: number; loops: number; ms: number }) {
  const prefix = 't' + randomBytes(4).toString('hex');
  const budgets = Array.from({ length: opts.processes }, () => processBudget(prefix, provider, windows));
  const grants: Grant[] = [];
  let mutationRefusals = 0;
  const started = Date.now();
  const deadline = started + opts.ms;
  const loop = async (budget: RequestBudget, priority: RequestPriority) => {
    while (Date.now() < deadline) {
      try {
        await budget.take(priority);
        grants.push({ at: Date.now(), priority });
      } catch (err) {
        if (!(err instanceof RequestBudgetExhaustedError)) throw err;
        if (priority === 'mutation') mutationRefusals++;
        // A parked job comes back later; these come back at once, to keep pressing.
        else await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  await Promise.all([
    ...budgets.flatMap((budget) => Array.from({ length: opts.loops }, () => loop(budget, 'mutation'))),
    loop(budgets[0]!, 'poll'),
  ]);
  grants.sort((a, b) => a.at - b.at);
  // A take begun just before the deadline may wait in its process for up to 2 s more.
  const ended = Math.max(deadline, grants.at(-1)?.at ?? deadline);
  return { grants, mutationRefusals, started, ended };
}

/** The most grants (of `priority`, or of any) in any `ms` long stretch. */
function most(grants: Grant[], ms: number, priority?: RequestPriority): number {
  const times = grants.filter((g) => !priority || g.priority === priority).map((g) => g.at);
  let worst = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (j < times.length && times[j]! < times[i]! + ms) j++;
    worst = Math.max(worst, j - i);
  }
  return worst;
}

/** The fewest polls in any `ms` long stretch between `from` and `to`. */
function fewestPolls(grants: Grant[], ms: number, from: number, to: number): number {
  const polls = grants.filter((g) => g.priority === 'poll').map((g) => g.at);
  let fewest = Infinity;
  for (let start = from; start + ms <= to; start += 50) {
    fewest = Math.min(fewest, polls.filter((t) => t >= start && t < start + ms).length);
  }
  return fewest;
}

test('UpCloud (10 a second): mutations pressing from 4 processes leave polls their quarter of every window, and never more than 10 go in a second', { timeout: 60_000 }, async (t) => {
  const limit = 10;
  const ms = 8000;
  const { grants, mutationRefusals, started, ended } = await press('upcloud', [{ limit, windowMs: 1000 }], { processes: 4, loops: 6, ms });
  const polls = grants.filter((g) => g.priority === 'poll').length;
  const mutations = grants.length - polls;
  // Steady state: after the first second (the floor fills up from the first poll's ask) and
  // while the poll loop still runs.
  const steady = grants.filter((g) => g.at >= started + 1000 && g.at < started + ms);
  const steadyPolls = steady.filter((g) => g.priority === 'poll').length;
  // The budget counts a request for its window plus a margin (1.2 s), and a window's quarter
  // (3 polls) comes once per such span: at least two spans' worth in any three.
  const fewest = fewestPolls(grants, 3600, started + 1000, started + ms);
  t.diagnostic(
    `${grants.length} grants in ${ended - started} ms: ${mutations} mutations (${mutationRefusals} refusals), ${polls} polls (${(polls / (ms / 1000)).toFixed(2)}/s); ` +
      `steady state: ${steadyPolls} of ${steady.length} grants were polls (${((steadyPolls / steady.length) * 100).toFixed(0)}%); ` +
      `fewest polls in any 3.6 s: ${fewest}; most grants in any second: ${most(grants, 1000)}`,
  );

  assert.ok(most(grants, 1000) <= limit, `${most(grants, 1000)} grants within one second (limit ${limit})`);
  // Pressing: the account gave all it could (10 per counted span of 1.2 s) and mutations were still turned away.
  assert.ok(grants.length >= 0.9 * limit * ((ended - started) / 1200), `${grants.length} grants in ${ended - started} ms: the account was not saturated`);
  assert.ok(mutationRefusals > 0, 'mutations were refused');
  assert.ok(steadyPolls >= 0.25 * steady.length, `polls got ${steadyPolls} of ${steady.length} requests`);
  assert.ok(fewest >= 6, `only ${fewest} polls in some 3.6 s stretch`);
  // The floor is a floor, not a takeover: mutations still get most of the account.
  assert.ok(mutations >= 2 * polls, `${mutations} mutations beside ${polls} polls`);
});

test('Hetzner (a bucket of 10, 5 a second): polls keep a quarter of the refill while mutations take every token', { timeout: 60_000 }, async (t) => {
  const ms = 8000;
  // Read as the engine reads RATE_LIMIT_HETZNER: capacity 10 refilled over 2 s, 5 a second.
  const { grants, mutationRefusals, started, ended } = await press('hetzner', [{ limit: 10, windowMs: 2000 }], { processes: 4, loops: 6, ms });
  const polls = grants.filter((g) => g.priority === 'poll').length;
  const fewest = fewestPolls(grants, 4000, started + 1000, started + ms);
  t.diagnostic(`${grants.length} grants in ${ended - started} ms: ${grants.length - polls} mutations (${mutationRefusals} refusals), ${polls} polls; fewest polls in any 4 s after the first second: ${fewest}`);

  // A full bucket at the start, then the refill; and all of it was taken.
  const allowed = 10 + 5 * ((ended - started) / 1000);
  assert.ok(grants.length <= allowed + 1, `${grants.length} grants from a bucket of 10 refilled at 5 a second over ${ended - started} ms`);
  assert.ok(grants.length >= 0.9 * allowed - 2, `${grants.length} grants of ${allowed.toFixed(0)}: the bucket was not emptied`);
  assert.ok(mutationRefusals > 0, 'mutations were refused');
  // A quarter of 5 a second is 1.25 polls a second: 5 in any 4 s.
  assert.ok(fewest >= 5, `only ${fewest} polls in some 4 s stretch`);
});
