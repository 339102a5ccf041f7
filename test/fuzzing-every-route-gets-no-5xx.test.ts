import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import winston from 'winston';
import { generate, operationsOf, type Credential, type FuzzCase } from './helpers/openapi-fuzz.js';
import { rawClient, type RawReply } from './helpers/raw-http.js';
import { storedOperationCount } from './helpers/stored-operations.js';
import { TestSystem } from './helpers/system.js';

/**
 * Keys that change on requests that change nothing, left out of the before/after comparison:
 * - `:audit`: the audit log records every refused mutation and every failed authentication;
 * - `:idem:…`: an Idempotency-Key keeps its 4xx answer for replay, by design;
 * - `:rl:…`: the API's request budgets and credential throttles count every request;
 * - `:catalog:…` and `:budget:…`: catalogue reads fill the catalogue cache and spend provider budget;
 * - the worker's timers, whatever the API is asked: its repeatable jobs (`:bull:maintenance:…`),
 *   BullMQ's stalled-job check marker (`:bull:<queue>:stalled-check`, which expires and comes
 *   back), its leases (`:lock:…`), its heartbeat (`:workers:hb…`) and its metrics
 *   (`:metrics:proc…`), both rewritten every few seconds. The operation and workflow queues
 *   themselves are compared.
 */
const CHANGES_ON_READS = [/:audit$/, /:idem:/, /:rl:/, /:catalog:/, /:budget:/, /:bull:maintenance:/, /:bull:[^:]+:stalled-check$/, /:lock:/, /:workers:hb/, /:metrics:proc/, /:udc:logs$/];

/** How many requests go out at once. */
const CONCURRENCY = 16;

interface Snapshot {
  /** Every key but those above, with a digest of its value. */
  keys: Map<string, string>;
  operations: number;
  servers: number;
  listedServers: number;
  listedOperations: number;
}

async function snapshot(sys: TestSystem): Promise<Snapshot> {
  const redis = sys.api.ctx.redis;
  const { keys: k } = sys.api.ctx;
  // Every key, so one written outside the prefix shows too.
  const all = await redis.keys('*');
  const keys = new Map<string, string>();
  for (const name of all.sort()) {
    if (name.startsWith(`${k.prefix}:`) && CHANGES_ON_READS.some((re) => re.test(name))) continue;
    const type = await redis.type(name);
    let value: unknown;
    if (type === 'string') value = await redis.get(name);
    else if (type === 'hash') value = Object.entries(await redis.hgetall(name)).sort();
    else if (type === 'set') value = (await redis.smembers(name)).sort();
    else if (type === 'zset') value = await redis.call('ZRANGE', name, '0', '-1', 'WITHSCORES');
    else if (type === 'list') value = await redis.lrange(name, 0, -1);
    else if (type === 'stream') value = await redis.xrange(name, '-', '+');
    keys.set(name, `${type}:${createHash('sha256').update(JSON.stringify(value ?? null)).digest('hex')}`);
  }
  const listedServers = await sys.request('GET', '/v1/servers?limit=200');
  const listedOperations = await sys.request('GET', '/v1/operations?limit=200');
  return {
    keys,
    operations: await storedOperationCount(redis, k),
    servers: await redis.zcard(k.serverIndex()),
    listedServers: (listedServers.body as unknown[]).length,
    listedOperations: (listedOperations.body as unknown[]).length,
  };
}

/** How a case's answer names a field, in `/v1` terms (`hostname`, `path.id`, `body`). */
function namedFields(c: FuzzCase, reply: RawReply): string[] {
  if (c.op.family === 'v1') return ((reply.json?.details ?? []) as Array<{ field?: unknown }>).map((d) => String(d.field));
  const detail = reply.json?.detail;
  if (!Array.isArray(detail)) return [];
  return detail.map((d: { loc?: unknown[] }) => {
    const [where, ...rest] = (d.loc ?? []).map(String);
    if (where === 'body') return rest.length ? rest.join('.') : 'body';
    return [where, ...rest].join('.');
  });
}

describe('fuzzing every route from /openapi.json gets no 5xx and changes nothing', () => {
  let sys: TestSystem;
  const logLines: string[] = [];
  before(async () => {
    sys = await TestSystem.start({ workers: 1 });
    // Read the API's log at `info` (client errors) without printing it.
    const logger = sys.api.ctx.logger;
    for (const t of logger.transports) t.level ??= 'error';
    logger.add(new winston.transports.Stream({ level: 'info', stream: new Writable({ write: (chunk, _enc, cb) => (logLines.push(...String(chunk).split('\n').filter(Boolean)), cb()) }) }));
    logger.level = 'info';
  });
  after(async () => {
    await sys?.stop();
  });

  test('a few thousand malformed requests: no 5xx, fields named, no state change, one log line per client error', { timeout: 120_000 }, async () => {
    const doc = (await sys.request('GET', '/openapi.json', { auth: false })).body;
    const ops = operationsOf(doc);
    assert.ok(ops.length >= 46, `the document lists ${ops.length} operations`);
    const { cases, skipped } = generate(ops, { tenMegabyteOps: 4 });

    const forged = jwt.sign({ sub: 'admin', sid: 'x' }, randomBytes(32), { algorithm: 'HS256', expiresIn: 600 });
    const credentials: Record<Credential, Record<string, string>> = {
      admin: { authorization: `Bearer ${sys.token}` },
      none: {},
      garbage: { authorization: 'Bearer not-a-token' },
      forged: { authorization: `Bearer ${forged}` },
      basic: { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
      'api-key': { 'x-api-key': 'pe_notakey' },
      'empty-bearer': { authorization: 'Bearer ' },
    };

    const before = await snapshot(sys);
    const client = rawClient(sys.url, CONCURRENCY);
    const statuses = new Map<string, number>();
    const failures: string[] = [];
    const clientErrorTraces: string[] = [];
    let fieldChecks = 0;
    const fail = (c: FuzzCase, reply: RawReply, why: string) => {
      if (failures.length < 25) failures.push(`${c.method} ${c.path.slice(0, 120)} [${c.kind}, ${c.credential}] → ${reply.status} ${reply.error ?? reply.text.slice(0, 300)}: ${why}`);
      else failures.push('…');
    };
    const started = Date.now();
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++]!;
        const reply = await client.send({ method: c.method, path: c.path, headers: { ...credentials[c.credential], ...c.headers }, body: c.body });
        const key = reply.status ? String(reply.status) : `no answer (${reply.error})`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        check(c, reply);
      }
    };
    const check = (c: FuzzCase, reply: RawReply) => {
      if (reply.status === 0) return fail(c, reply, 'no answer');
      if (reply.status >= 500) return fail(c, reply, 'a 5xx');
      if (c.expectStatus && !c.expectStatus.includes(reply.status)) return fail(c, reply, `expected ${c.expectStatus.join(' or ')}`);
      const ours = reply.headers['x-trace-id'];
      // Node itself answers a request it cannot parse (431 for a path past 16 kB), before the app.
      if (!ours) return reply.status === 431 || reply.status === 400 ? undefined : fail(c, reply, 'answered without a trace id');
      if (reply.status >= 400) clientErrorTraces.push(String(ours));
      if (reply.headers['x-content-type-options'] !== 'nosniff') fail(c, reply, 'no X-Content-Type-Options');
      if (!String(reply.headers['content-security-policy']).includes("default-src 'none'")) fail(c, reply, 'no content-security-policy');
      if (reply.headers['x-frame-options'] !== 'DENY') fail(c, reply, 'no X-Frame-Options');
      if (reply.headers['cache-control'] !== 'no-store') fail(c, reply, 'no Cache-Control: no-store');
      if (reply.status === 401) {
        const challenge = String(reply.headers['www-authenticate'] ?? '');
        if (!/^Bearer realm="[^"]+"/.test(challenge)) fail(c, reply, 'a 401 without WWW-Authenticate: Bearer');
        const sentToken = ['garbage', 'forged', 'basic', 'api-key', 'empty-bearer'].includes(c.credential);
        if (sentToken && !challenge.includes('error="invalid_token"')) fail(c, reply, 'a refused token without error="invalid_token"');
      }
      // Validation errors name their fields.
      if (c.op.family === 'v1' && reply.status === 400 && reply.json?.error === 'VALIDATION_FAILED') {
        const details = reply.json.details;
        if (!Array.isArray(details) || !details.length || details.some((d: { field?: unknown }) => typeof d.field !== 'string' || d.field === '')) fail(c, reply, 'VALIDATION_FAILED without details[].field');
      }
      if (c.op.family === 'detail' && (reply.status === 422 || reply.status === 400) && Array.isArray(reply.json?.detail)) {
        if (reply.json.detail.some((d: { loc?: unknown }) => !Array.isArray(d.loc) || !d.loc.length)) fail(c, reply, 'a detail list without loc');
      }
      if (c.expectField) {
        fieldChecks++;
        const named = namedFields(c, reply);
        const hit = named.some((f) => f === c.expectField || f.startsWith(`${c.expectField}.`) || f.startsWith(`${c.expectField}[`));
        if (!hit) fail(c, reply, `expected a problem naming ${c.expectField}, got ${JSON.stringify(named)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (Date.now() - started) / 1000;
    client.close();

    const after = await snapshot(sys);
    const counts = [...statuses].sort(([a], [b]) => a.localeCompare(b)).map(([s, n]) => `${s}: ${n}`).join(', ');
    const fivexx = [...statuses].filter(([s]) => /^5/.test(s)).reduce((n, [, c]) => n + c, 0);
    console.log(`fuzz: ${cases.length} requests over ${ops.length} operations in ${seconds.toFixed(1)} s (${skipped} left out as unsafe, ${fieldChecks} checked for the field named); ${counts}; 5xx = ${fivexx}`);

    assert.deepEqual(failures, [], failures.join('\n'));
    assert.equal(fivexx, 0);

    // Nothing changed: no operation, no server, no key (but those that count requests), no value.
    assert.equal(after.operations, before.operations, 'operations');
    assert.equal(after.listedOperations, before.listedOperations, 'operations listed');
    assert.equal(after.servers, before.servers, 'inventory');
    assert.equal(after.listedServers, before.listedServers, 'servers listed');
    assert.deepEqual([...after.keys.keys()], [...before.keys.keys()], 'key names');
    const changed = [...after.keys].filter(([name, digest]) => before.keys.get(name) !== digest).map(([name]) => name);
    assert.deepEqual(changed, [], 'values changed');
    // DBSIZE itself is not compared: it also counts keys that have expired and are not reclaimed
    // yet (the rate limiter's counters), which KEYS leaves out; the key names above are the check.
    // No `__proto__` or `constructor.prototype` in a body or query reached Object.prototype.
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype was polluted');

    // Every client error is one line without a stack; nothing logged as a server error.
    const parsed = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const unhandled = parsed.filter((l) => l.level === 'error');
    assert.deepEqual(unhandled.map((l) => l.message), [], `errors logged: ${JSON.stringify(unhandled.slice(0, 3))}`);
    const clientLines = parsed.filter((l) => l.message === 'client error');
    assert.ok(clientLines.every((l) => !JSON.stringify(l).includes('    at ')), 'a client error was logged with a stack');
    const logged = new Map<string, number>();
    for (const l of clientLines) logged.set(String(l.trace_id), (logged.get(String(l.trace_id)) ?? 0) + 1);
    const missing = clientErrorTraces.filter((t) => logged.get(t) !== 1);
    assert.deepEqual(missing.slice(0, 5), [], `client errors not logged exactly once (${missing.length})`);
    assert.ok(seconds < 60, `took ${seconds} s`);
  });
});
