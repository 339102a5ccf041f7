/**
 * Each identity may hold at most SSE_MAX_STREAMS_PER_IDENTITY event streams open at once,
 * counted in Redis so the cap holds across API replicas; a closed stream gives its slot back
 * and the slots of a replica that died lapse by themselves. Streams carry a heartbeat, and
 * 2,000 open streams leave the API answering quickly.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { StreamSlots } from '../src/api/sse.js';
import { createLogger } from '../src/core/logger.js';
import { startApiProcess, type ApiProcess } from './helpers/api-process.js';
import { http } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';

interface OpenStream {
  status: number;
  headers: IncomingMessage['headers'];
  /** What the stream carried so far (the body of a refusal). */
  text: () => string;
  close: () => void;
}

/** Opens `GET /v1/events` over its own connection and keeps reading it until closed. */
function openStream(base: string, auth: Record<string, string>): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    let text = '';
    const req: ClientRequest = httpRequest(`${base}/v1/events`, { agent: false, headers: { accept: 'text/event-stream', ...auth } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('error', () => undefined);
      const done = () => resolve({ status: res.statusCode!, headers: res.headers, text: () => text, close: () => req.destroy() });
      // A refusal is read whole; a stream is handed over open.
      if (res.statusCode === 200) done();
      else res.on('end', done);
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end();
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const apiKey = (key: string) => ({ 'x-api-key': key });

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function timed(fn: () => Promise<{ status: number }>, times: number): Promise<{ median: number; max: number }> {
  const took: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    const res = await fn();
    took.push(performance.now() - started);
    assert.equal(res.status, 200);
  }
  took.sort((a, b) => a - b);
  return { median: Math.round(took[Math.floor(times / 2)]! * 10) / 10, max: Math.round(took[times - 1]! * 10) / 10 };
}

describe('event streams are capped per identity across replicas', () => {
  const CAP = 3;
  let sys: TestSystem;
  let replica: ApiProcess;
  let adminKey: string;
  const streams: OpenStream[] = [];
  const slotsKey = () => `${sys.config.keyPrefix}:rl:sse:admin`;
  const held = () => sys.api.ctx.redis.zcard(slotsKey());

  before(async () => {
    sys = await TestSystem.start({ workers: 0, env: { SSE_MAX_STREAMS_PER_IDENTITY: String(CAP) } });
    replica = await startApiProcess(sys.env);
    const key = await sys.request('POST', '/v1/api-keys', { body: { name: 'watcher' } });
    assert.equal(key.status, 201);
    adminKey = key.body.key;
  });
  after(async () => {
    for (const s of streams) s.close();
    await replica?.stop('SIGKILL');
    await sys?.stop();
  });

  async function closeAll(): Promise<void> {
    for (const s of streams.splice(0)) s.close();
    await until(async () => (await held()) === 0, 'every slot given back');
  }

  test('the stream past the cap is a 429, on this replica and on the other; an API key has slots of its own', async () => {
    for (let i = 0; i < CAP; i++) {
      const s = await openStream(i % 2 ? replica.url : sys.url, bearer(sys.token));
      streams.push(s);
      assert.equal(s.status, 200);
      assert.match(String(s.headers['content-type']), /text\/event-stream/);
    }
    assert.equal(await held(), CAP);
    for (const base of [sys.url, replica.url]) {
      const over = await openStream(base, bearer(sys.token));
      assert.equal(over.status, 429, base);
      const body = JSON.parse(over.text());
      assert.equal(body.error, 'RATE_LIMITED');
      assert.equal(body.code, '429');
      assert.match(body.message, /at most 3 event streams per caller/);
      assert.deepEqual(body.details, { scope: 'streams', limit: CAP, open: CAP });
      assert.ok(Number(over.headers['retry-after']) >= 1, 'Retry-After');
    }
    const byKey = await openStream(replica.url, apiKey(adminKey));
    streams.push(byKey);
    assert.equal(byKey.status, 200, 'the key is an identity of its own');
  });

  test('closing a stream frees its slot', async () => {
    streams.shift()!.close();
    await until(async () => (await held()) === CAP - 1, 'the slot given back');
    const again = await openStream(replica.url, bearer(sys.token));
    streams.push(again);
    assert.equal(again.status, 200);
    assert.equal((await openStream(sys.url, bearer(sys.token))).status, 429, 'full again');
  });

  test('the slots of a replica that died lapse by themselves', async () => {
    await closeAll();
    // A replica that took three slots and then died: it never refreshes nor releases them.
    const dead = new StreamSlots(sys.api.ctx.redis, sys.config.keyPrefix, CAP, createLogger('dead', 'error'), 1000, 3_600_000);
    for (let i = 0; i < CAP; i++) assert.equal((await dead.acquire('admin')).granted, true);
    assert.equal((await openStream(sys.url, bearer(sys.token))).status, 429, 'held by the dead replica');
    await new Promise((r) => setTimeout(r, 1100));
    const after = await openStream(sys.url, bearer(sys.token));
    streams.push(after);
    assert.equal(after.status, 200, 'its slots lapsed');

    // A replica killed outright: its slots carry a lapse time of at most 45 s (three heartbeats).
    const s = await openStream(replica.url, bearer(sys.token));
    assert.equal(s.status, 200);
    const killedAt = Date.now();
    await replica.stop('SIGKILL');
    s.close();
    const scores = (await sys.api.ctx.redis.zrange(slotsKey(), '0', '-1', 'WITHSCORES')).filter((_, i) => i % 2 === 1).map(Number);
    assert.equal(scores.length, 2);
    for (const lapse of scores) assert.ok(lapse <= killedAt + 45_500, `lapses at most 45 s on: ${lapse - killedAt} ms`);
    // What is left is the killed replica's one slot, until it lapses.
    for (const open of streams.splice(0)) open.close();
    await until(async () => (await held()) === 1, "this replica's slots given back");
  });
});

describe('2,000 open event streams leave the API answering quickly', () => {
  const KEYS = 100;
  const PER_KEY = 20;
  let sys: TestSystem;
  const keys: string[] = [];
  const streams: OpenStream[] = [];

  before(async () => {
    // The default cap of 20 per identity: 100 API keys hold 20 streams each.
    sys = await TestSystem.start({ workers: 0, env: { SSE_MAX_STREAMS_PER_IDENTITY: String(PER_KEY) } });
    for (let i = 0; i < KEYS; i++) {
      const res = await sys.request('POST', '/v1/api-keys', { body: { name: `stream-${i}` } });
      assert.equal(res.status, 201);
      keys.push(res.body.key);
    }
    // Something for the listing to read.
    for (let i = 0; i < 20; i++) await sys.createServer({ hostname: `listed-${i}` });
  });
  after(async () => {
    for (const s of streams) s.close();
    if (sys) await until(async () => (await sys.api.ctx.redis.keys(`${sys.config.keyPrefix}:rl:sse:*`)).length === 0, 'every slot given back', 15000).catch(() => undefined);
    await sys?.stop();
  });

  test('with 2,000 streams open, /health and GET /v1/operations answer well within a second; each stream has a heartbeat', { timeout: 120_000 }, async () => {
    const health = () => http(sys.url, 'GET', '/health');
    const list = () => sys.request('GET', '/v1/operations?limit=50');
    const idleHealth = await timed(health, 20);
    const idleList = await timed(list, 20);

    const opening = Date.now();
    for (let k = 0; k < KEYS; k += 10) {
      const batch = await Promise.all(keys.slice(k, k + 10).flatMap((key) => Array.from({ length: PER_KEY }, () => openStream(sys.url, apiKey(key)))));
      streams.push(...batch);
    }
    const allOpen = Date.now();
    const openedMs = allOpen - opening;
    assert.equal(streams.length, KEYS * PER_KEY);
    assert.ok(streams.every((s) => s.status === 200), `statuses: ${[...new Set(streams.map((s) => s.status))].join(',')}`);
    assert.equal((await openStream(sys.url, apiKey(keys[0]!))).status, 429, 'the cap holds at this scale');

    const busyHealth = await timed(health, 20);
    const busyList = await timed(list, 20);
    console.log(`# 2,000 streams opened in ${openedMs} ms; /health median/max ${idleHealth.median}/${idleHealth.max} ms idle, ${busyHealth.median}/${busyHealth.max} ms with them open; GET /v1/operations ${idleList.median}/${idleList.max} ms idle, ${busyList.median}/${busyList.max} ms with them open`);
    assert.ok(busyHealth.max < 1000, `/health took ${busyHealth.max} ms`);
    assert.ok(busyList.max < 1000, `GET /v1/operations took ${busyList.max} ms`);

    // One heartbeat interval after the last one opened: every stream got its keep-alive and its slot was refreshed.
    await new Promise((r) => setTimeout(r, Math.max(0, allOpen + 16_000 - Date.now())));
    const beats = streams.filter((s) => s.text().includes(': keep-alive\n\n')).length;
    const { median, max } = await timed(health, 20);
    console.log(`# after a heartbeat round: ${beats} of ${streams.length} streams had a keep-alive; /health median/max ${median}/${max} ms`);
    assert.equal(beats, streams.length);
    const redis = sys.api.ctx.redis;
    const firstKeyId = /^pe_(k[0-9a-f]+)_/.exec(keys[0]!)![1];
    const lapses = (await redis.zrange(`${sys.config.keyPrefix}:rl:sse:key:${firstKeyId}`, '0', '-1', 'WITHSCORES')).filter((_, i) => i % 2 === 1).map(Number);
    assert.equal(lapses.length, PER_KEY);
    assert.ok(lapses.every((at) => at > opening + 45_000 + 10_000), 'slots refreshed by the heartbeat round');

    for (const s of streams.splice(0)) s.close();
    await until(async () => (await redis.keys(`${sys.config.keyPrefix}:rl:sse:*`)).length === 0, 'every slot given back', 15000);
  });
});
