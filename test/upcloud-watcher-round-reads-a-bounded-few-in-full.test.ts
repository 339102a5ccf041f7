import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UpCloudProvider } from '../src/providers/upcloud/adapter.js';
import type { ServerWait, WaitCheck } from '../src/common/provider.js';
import { startSandbox } from '../src/sandbox/server.js';
import { PROVIDER_REQUESTS } from './helpers/provider-requests.js';

const TOKEN = 'sandbox-upcloud-round-token-0123456789';
const ONE_SERVER = '^/1\\.3/server/[^/]+$';

/**
 * UpCloud's listing has no addresses, so every server it shows started must be read on its
 * own. A round over hundreds of such servers used to read them all and, cut short by the
 * account's budget, answer for none, round after round. A round now reads at most twenty in full
 * and answers for those; a refusal answers "waiting" for the rest instead of failing the round.
 */
test('upcloud: a round reads at most twenty started servers in full, and a refused read defers the rest', async (t) => {
  const sandbox = await startSandbox({ token: TOKEN, ssh: false, upcloud: { createDelayMs: 100, stopDelayMs: 100, restartDelayMs: 100, modifyDelayMs: 50 } });
  t.after(() => sandbox.close());
  const provider = new UpCloudProvider({ baseUrl: sandbox.baseUrls.upcloud!, token: TOKEN, pollIntervalMs: 25, http: { baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5_000 } });
  const { plan, zone } = PROVIDER_REQUESTS.upcloud;
  const waits: ServerWait[] = [];
  for (let i = 0; i < 24; i++) {
    const { wait } = await provider.createServer({ name: `bounded-${i}`, plan, zone, image: provider.defaultImage, tags: [], marker: `bounded-${i}` }, {});
    assert.ok(wait);
    waits.push(wait);
  }
  // A fresh adapter, as the watcher in another process is: it knows no boot disk's template.
  const watcher = new UpCloudProvider({ baseUrl: sandbox.baseUrls.upcloud!, token: TOKEN, pollIntervalMs: 25, http: { baseDelayMs: 5, maxDelayMs: 20, timeoutMs: 5_000, retries: 0 } });
  await new Promise((r) => setTimeout(r, 800));
  const reads = sandbox.faults.add({ provider: 'upcloud', method: 'GET', path: ONE_SERVER, kind: 'latency', latencyMs: 0 });
  const readCount = () => sandbox.faults.list().find((r) => r.id === reads)!.matched;
  const disks = sandbox.faults.add({ provider: 'upcloud', method: 'GET', path: '^/1\\.3/storage/', kind: 'latency', latencyMs: 0 });

  // The account's budget refuses the first server read: the round still answers, all waiting.
  sandbox.faults.add({ provider: 'upcloud', method: 'GET', path: ONE_SERVER, kind: 'status', status: 429, retryAfterSec: 1, count: 1 });
  const refused = await watcher.checkWaits(waits, {});
  assert.deepEqual(refused.map((c) => c.state), waits.map(() => 'waiting'));
  assert.match(JSON.stringify(refused[0]), /read in full at the next look/);
  assert.equal(readCount(), 1, 'no server read after the refusal');

  const second = await watcher.checkWaits(waits, {});
  assert.equal(second.filter((c) => c.state === 'done').length, 20, JSON.stringify(second.map((c) => c.state)));
  assert.equal(readCount(), 21, 'twenty servers read in full, one request each');
  for (const check of second.filter((c): c is Extract<WaitCheck, { state: 'done' }> => c.state === 'done')) {
    assert.equal(check.server?.status, 'running');
    assert.match(check.server?.ipv4 ?? '', /^\d+\.\d+\.\d+\.\d+$/);
  }

  const open = waits.filter((_, i) => second[i]!.state === 'waiting');
  const third = await watcher.checkWaits(open, {});
  assert.deepEqual(third.map((c) => c.state), ['done', 'done', 'done', 'done']);
  assert.equal(sandbox.faults.list().find((r) => r.id === disks)!.matched, 0, 'no boot disk looked up: the create recorded the image');
});
