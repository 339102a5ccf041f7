import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import winston from 'winston';
import { logClientErrors } from '../src/api/middleware/client-errors.js';
import { errorHandler } from '../src/api/middleware/errors.js';
import { jsonBody } from '../src/api/middleware/request-guards.js';
import { canonicalJson, requestFingerprint } from '../src/core/idempotency.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../src/core/json-depth.js';
import { ValidationError } from '../src/common/errors.js';
import { checkTaskservConfig } from '../src/core/taskservs/parameters.js';
import { rawClient, type RawReply } from './helpers/raw-http.js';
import { storedOperationCount } from './helpers/stored-operations.js';
import { TestSystem } from './helpers/system.js';

const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const json = { 'content-type': 'application/json' };

function fieldsOf(reply: RawReply): string[] {
  return (reply.json?.details ?? []).map((d: { field: string }) => d.field);
}

describe('malformed requests get a 4xx in their family shape, every answer carries the security headers', () => {
  let sys: TestSystem;
  let client: ReturnType<typeof rawClient>;
  let auth: Record<string, string>;
  before(async () => {
    sys = await TestSystem.start({ workers: 0 });
    client = rawClient(sys.url, 4);
    auth = { authorization: `Bearer ${sys.token}` };
  });
  after(async () => {
    client?.close();
    await sys?.stop();
  });

  test('percent-encoding that does not decode: 400 naming the path parameter, token or not', async () => {
    for (const bad of ['%zz', '%E0%A4%A', '%C0%AE%C0%AE']) {
      const res = await client.send({ method: 'GET', path: `/v1/operations/${bad}` });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json.error, 'VALIDATION_FAILED');
      assert.deepEqual(fieldsOf(res), ['path.id']);
      assert.match(res.json.message, /path\.id/);
    }
    const status = await client.send({ method: 'GET', path: '/v1/servers/%zz/status', headers: auth });
    assert.equal(status.status, 400);
    assert.deepEqual(fieldsOf(status), ['path.id']);
    const user = await client.send({ method: 'DELETE', path: '/v1/users/%E0%A4%A', headers: auth });
    assert.deepEqual([user.status, fieldsOf(user)], [400, ['path.username']]);
    const mc = await client.send({ method: 'POST', path: '/do/action/%zz', headers: { ...auth, ...json }, body: '{"action":"reboot"}' });
    assert.equal(mc.status, 400, mc.text);
    assert.deepEqual(mc.json.detail[0].loc, ['path', 'id']);
    // A path that matches no route is still a 404.
    const none = await client.send({ method: 'GET', path: '/v1/%zz', headers: auth });
    assert.equal(none.status, 404);
  });

  test('a body that is not valid gzip: 400 on every route, /health too', async () => {
    const health = await client.send({ method: 'GET', path: '/health', headers: { ...json, 'content-encoding': 'gzip' }, body: 'garbage' });
    assert.equal(health.status, 400, health.text);
    assert.equal(health.json.error, 'INVALID_JSON');
    assert.match(health.json.message, /not valid gzip/);
    const create = await client.send({ method: 'POST', path: '/v1/servers/create', headers: { ...auth, ...json, 'content-encoding': 'gzip' }, body: 'garbage' });
    assert.equal(create.status, 400);
    const mc = await client.send({ method: 'POST', path: '/do/register', headers: { ...auth, ...json, 'content-encoding': 'br' }, body: 'garbage' });
    assert.equal(mc.status, 400, mc.text);
    assert.match(mc.json.detail, /not valid br/);
  });

  test('an unknown content-encoding or charset: 415; too large (also once decompressed): 413; in each family', async () => {
    const body = '{"name":"web-01"}';
    for (const prefix of ['/do', '/hetzner', '/vultr', '/upcloud']) {
      const enc = await client.send({ method: 'POST', path: `${prefix}/register`, headers: { ...auth, ...json, 'content-encoding': 'bogus' }, body });
      assert.equal(enc.status, 415, enc.text);
      assert.match(enc.json.detail, /content-encoding 'bogus'/);
      const charset = await client.send({ method: 'POST', path: `${prefix}/register`, headers: { ...auth, 'content-type': 'application/json; charset=latin1' }, body });
      assert.equal(charset.status, 415, charset.text);
      assert.match(charset.json.detail, /charset 'latin1'/);
      const big = await client.send({ method: 'POST', path: `${prefix}/register`, headers: { ...auth, ...json }, body: `{"name":"${'x'.repeat(1_000_000)}"}` });
      assert.equal(big.status, 413, big.text);
      assert.match(big.json.detail, /larger than 256kb/);
    }
    const huge = await client.send({ method: 'POST', path: '/multi/list', headers: { ...auth, ...json }, body: `{"a":"${'x'.repeat(10_000_000)}"}` });
    assert.equal(huge.status, 413);
    const bomb = await client.send({ method: 'POST', path: '/upcloud/register', headers: { ...auth, ...json, 'content-encoding': 'gzip' }, body: gzipSync(Buffer.alloc(20_000_000, 0x20)) });
    assert.equal(bomb.status, 413, bomb.text);
    assert.match(bomb.json.detail, /once decompressed/);
    const v1 = await client.send({ method: 'POST', path: '/v1/servers/create', headers: { ...auth, ...json, 'content-encoding': 'bogus' }, body });
    assert.deepEqual([v1.status, v1.json.error, v1.json.code], [415, 'UNSUPPORTED_MEDIA_TYPE', '415']);
    const v1charset = await client.send({ method: 'POST', path: '/v1/servers/create', headers: { ...auth, 'content-type': 'application/json; charset=latin1' }, body });
    assert.deepEqual([v1charset.status, v1charset.json.error], [415, 'UNSUPPORTED_MEDIA_TYPE']);
    const v1bomb = await client.send({ method: 'POST', path: '/v1/workflows/submit', headers: { ...auth, ...json, 'content-encoding': 'gzip' }, body: gzipSync(Buffer.alloc(20_000_000, 0x20)) });
    assert.deepEqual([v1bomb.status, v1bomb.json.error], [413, 'PAYLOAD_TOO_LARGE']);
  });

  test('JSON nested past the limit: 400 naming the body, with an Idempotency-Key too; deep parameters and config', async () => {
    for (const [path, text] of [
      ['/v1/servers/create', '['.repeat(5000) + ']'.repeat(5000)],
      ['/v1/servers/create', deep(5000)],
      ['/v1/workflows/submit', `{"workspace":"default","workflow_type":"custom","parameters":${deep(9000)}}`],
      ['/v1/taskservs/create', `{"workspace":"default","name":"hello","servers":["srv-000000000000"],"config":${deep(9000)}}`],
      ['/v1/servers/create', deep(MAX_JSON_DEPTH + 1)],
    ] as const) {
      const res = await client.send({ method: 'POST', path, headers: { ...auth, ...json, 'idempotency-key': `deep-${Math.random()}` }, body: text });
      assert.equal(res.status, 400, `${path}: ${res.text.slice(0, 200)}`);
      assert.equal(res.json.error, 'VALIDATION_FAILED');
      assert.deepEqual(fieldsOf(res), ['body']);
      assert.match(res.json.message, /nested more than 64 levels deep/);
    }
    const mc = await client.send({ method: 'POST', path: '/vultr/register', headers: { ...auth, ...json }, body: deep(5000) });
    assert.equal(mc.status, 400);
    assert.deepEqual(mc.json.detail[0].loc, ['body']);
    // At the limit the body is read, and the route's own validation answers.
    const atLimit = await client.send({ method: 'POST', path: '/v1/workflows/submit', headers: { ...auth, ...json }, body: `{"workspace":"default","workflow_type":"custom","parameters":${deep(MAX_JSON_DEPTH - 2)}}` });
    assert.equal(atLimit.status, 400, atLimit.text.slice(0, 300));
    assert.ok(fieldsOf(atLimit).every((f) => f.startsWith('parameters')), atLimit.text.slice(0, 300));
    assert.equal(await storedOperationCount(sys.api.ctx.redis, sys.api.ctx.keys), 0);
  });

  test('the depth check, canonical hashing and the config check do not recurse past the limit', () => {
    const veryDeep = JSON.parse('['.repeat(200_000) + ']'.repeat(200_000));
    assert.equal(exceedsJsonDepth(veryDeep), true);
    assert.equal(exceedsJsonDepth(JSON.parse(deep(MAX_JSON_DEPTH))), false);
    assert.equal(exceedsJsonDepth(JSON.parse(deep(MAX_JSON_DEPTH + 1))), true);
    assert.equal(exceedsJsonDepth([[], { a: [1] }], 3), false);
    assert.equal(exceedsJsonDepth([[], { a: [[1]] }], 3), true);
    assert.equal(canonicalJson(veryDeep).length, 400_000);
    assert.match(requestFingerprint('POST', '/v1/x', {}, veryDeep), /^[0-9a-f]{64}$/);
    assert.equal(canonicalJson({ b: [1, { d: undefined, c: 'x' }], a: null, u: undefined }), '{"a":null,"b":[1,{"c":"x"}]}');
    assert.throws(
      () => checkTaskservConfig({ name: 'hello', parameters: { type: 'object' } } as never, JSON.parse(deep(100))),
      (err: unknown) => err instanceof ValidationError && err.problems[0]!.field === 'config',
    );
  });

  test('security headers on every answer; no-store on API answers; the API allows nothing in a page', async () => {
    for (const [path, headers] of [
      ['/health', {}],
      ['/v1/servers', auth],
      ['/v1/servers', {}],
      ['/do/list', {}],
      ['/v1/nothing-here', auth],
      ['/openapi.json', {}],
    ] as const) {
      const res = await client.send({ method: 'GET', path, headers });
      assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
      assert.equal(res.headers['x-frame-options'], 'DENY', path);
      assert.equal(res.headers['cache-control'], 'no-store', path);
      assert.ok(res.headers['strict-transport-security'], path);
      assert.equal(res.headers['referrer-policy'], 'no-referrer', path);
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /default-src 'none'/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
    }
  });

  test('every 401 carries WWW-Authenticate: Bearer, with error="invalid_token" when a token was refused', async () => {
    const none = await client.send({ method: 'GET', path: '/v1/servers' });
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="provisioning-engine"');
    const bad = await client.send({ method: 'GET', path: '/v1/servers', headers: { authorization: 'Bearer nope' } });
    assert.equal(bad.status, 401);
    assert.match(String(bad.headers['www-authenticate']), /^Bearer realm="provisioning-engine", error="invalid_token", error_description="[^"]+"$/);
    const key = await client.send({ method: 'GET', path: '/v1/servers', headers: { 'x-api-key': 'pe_nope' } });
    assert.match(String(key.headers['www-authenticate']), /error="invalid_token"/);
    const mc = await client.send({ method: 'GET', path: '/do/list', headers: { authorization: 'Bearer nope' } });
    assert.deepEqual(mc.json, { detail: 'Could not validate credentials' });
    assert.match(String(mc.headers['www-authenticate']), /^Bearer realm="provisioning-engine", error="invalid_token"/);
    const login = await client.send({ method: 'POST', path: '/v1/auth/login', headers: json, body: '{"username":"admin","password":"not the password"}' });
    assert.equal(login.status, 401);
    assert.equal(login.headers['www-authenticate'], 'Bearer realm="provisioning-engine"');
  });

  test('/docs loads, and its own policy allows every script and style the page uses', async () => {
    const page = await client.send({ method: 'GET', path: '/docs/' });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    const csp = String(page.headers['content-security-policy']);
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
    const scriptSrc = directives.get('script-src') ?? directives.get('default-src')!;
    assert.ok(scriptSrc.includes("'self'"), csp);
    assert.ok(!scriptSrc.includes("'unsafe-inline'") && !scriptSrc.includes("'unsafe-eval'"), csp);
    assert.ok(directives.get('style-src')?.includes("'unsafe-inline'"), csp);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
    assert.ok(directives.get('connect-src')?.includes("'self'"), 'Swagger UI fetches /openapi.json');
    assert.ok(directives.get('img-src')?.includes('data:'), "Swagger UI's CSS icons are data: URLs");

    const scripts = [...page.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi)];
    assert.ok(scripts.length >= 3, 'the page loads Swagger UI');
    for (const [, attrs, inline] of scripts) {
      const src = /\bsrc\s*=\s*['"]([^'"]+)['"]/.exec(attrs!)?.[1];
      if (src === undefined) {
        const hash = `'sha256-${createHash('sha256').update(inline!).digest('base64')}'`;
        assert.ok(scriptSrc.includes(hash), `an inline script without its hash in the policy: ${inline!.slice(0, 80)}`);
        continue;
      }
      // Relative, so same-origin: allowed by 'self'.
      const url = new URL(src, `${sys.url}/docs/`);
      assert.equal(url.origin, new URL(sys.url).origin, src);
      const js = await client.send({ method: 'GET', path: url.pathname });
      assert.equal(js.status, 200, src);
      assert.match(String(js.headers['content-type']), /javascript/, src);
      assert.equal(js.headers['x-content-type-options'], 'nosniff');
      if (src.includes('swagger-ui-init')) assert.match(js.text, /"url": "\/openapi\.json"/);
    }
    for (const [, href] of page.text.matchAll(/<link[^>]+href=['"]([^'"]+\.css)['"]/gi)) {
      const css = await client.send({ method: 'GET', path: new URL(href!, `${sys.url}/docs/`).pathname });
      assert.equal(css.status, 200, href);
    }
  });
});

describe('client errors are one log line without a stack; server errors keep theirs', () => {
  test('a 4xx logs one line, a 5xx its stack', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = winston.createLogger({
      level: 'info',
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream: new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }) })],
    });
    const app = express();
    app.use((_req, res, next) => ((res.locals.traceId = 't-1'), next()));
    app.use(logClientErrors(logger));
    app.use(jsonBody('1kb'));
    app.post('/boom', () => {
      throw new Error('a bug');
    });
    app.post('/ok', (_req, res) => void res.json({}));
    app.use(errorHandler(logger));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const client = rawClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 1);
    try {
      const bad = await client.send({ method: 'POST', path: '/ok', headers: json, body: deep(100) });
      assert.equal(bad.status, 400);
      const big = await client.send({ method: 'POST', path: '/ok', headers: { ...json, 'content-encoding': 'gzip' }, body: 'no' });
      assert.equal(big.status, 400);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(lines.length, 2, JSON.stringify(lines));
      for (const l of lines) {
        assert.equal(l.message, 'client error');
        assert.equal(l.level, 'info');
        assert.ok(!JSON.stringify(l).includes('    at '), 'no stack');
      }
      assert.deepEqual([lines[0]!.status, lines[0]!.code, lines[0]!.path, lines[0]!.trace_id], [400, 'VALIDATION_FAILED', '/ok', 't-1']);
      lines.length = 0;
      const boom = await client.send({ method: 'POST', path: '/boom', headers: json, body: '{}' });
      assert.equal(boom.status, 500);
      assert.equal(lines.length, 1);
      assert.equal(lines[0]!.level, 'error');
      assert.match(String(lines[0]!.error), /a bug\n\s+at /);
    } finally {
      client.close();
      server.close();
    }
  });
});
