import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AbortedError, ErrorCodes, ProviderError } from '../src/common/errors.js';
import {
  ProviderHttpClient,
  sleep,
  type ProviderHttpClientOptions,
} from '../src/providers/http-client.js';
import { rejectsWith } from './helpers/rejects-with.js';

const TOKEN = 'dop_v1_secret_token_value';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Reply = { status: number; body?: unknown; raw?: string; headers?: Record<string, string> } | 'hang';

/** A loopback server that answers each request with the next scripted reply (the last one repeats). */
async function scriptedServer(replies: Reply[] | ((seen: Seen, n: number) => Reply | Promise<Reply>)) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', async () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(entry);
      const reply =
        typeof replies === 'function'
          ? await replies(entry, seen.length)
          : replies[Math.min(seen.length, replies.length) - 1]!;
      if (reply === 'hang') return;
      const payload = reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
      res.writeHead(reply.status, { 'content-type': 'application/json', ...(reply.headers ?? {}) });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v2`,
    seen,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function client(baseUrl: string, overrides: Partial<ProviderHttpClientOptions> = {}) {
  return new ProviderHttpClient({
    provider: 'digitalocean',
    baseUrl,
    headers: { authorization: `Bearer ${TOKEN}` },
    baseDelayMs: 5,
    maxDelayMs: 20,
    timeoutMs: 2_000,
    parseError: (_status, body) => {
      const b = body as { id?: string; message?: string } | undefined;
      return { providerCode: b?.id, message: b?.message ?? (typeof body === 'string' ? body : '') };
    },
    ...overrides,
  });
}


const unavailable = { status: 503, body: { id: 'service_unavailable', message: 'try later' } };

test('a burst of 5xx answers to a GET is retried until it succeeds', async (t) => {
  const srv = await scriptedServer([unavailable, { status: 502, raw: '<html>bad gateway</html>' }, { status: 200, body: { ok: true } }]);
  t.after(() => srv.close());
  const res = await client(srv.baseUrl).request<{ ok: boolean }>('GET', '/droplets', { query: { per_page: 5 } });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { ok: true });
  assert.equal(srv.seen.length, 3);
  assert.equal(srv.seen[0]!.url, '/v2/droplets?per_page=5');
  assert.equal(srv.seen[0]!.headers.authorization, `Bearer ${TOKEN}`);
});

test('a GET that keeps failing with 5xx gives up after the configured retries as a retryable PROVIDER_UNAVAILABLE', async (t) => {
  const srv = await scriptedServer([unavailable]);
  t.after(() => srv.close());
  const err = await rejectsWith(client(srv.baseUrl, { retries: 2 }).request('GET', 'droplets'));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_UNAVAILABLE);
  assert.equal(err.retryable, true);
  assert.equal(err.providerStatus, 503);
  assert.match(err.message, /^digitalocean: 503 service_unavailable: try later$/);
  assert.equal(srv.seen.length, 3);
});

test('a POST that gets a 503 is not retried but thrown as retryable', async (t) => {
  const srv = await scriptedServer([unavailable, { status: 202, body: { droplet: { id: 1 } } }]);
  t.after(() => srv.close());
  const err = await rejectsWith(client(srv.baseUrl).request('POST', '/droplets', { body: { name: 'a' } }));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_UNAVAILABLE);
  assert.equal(err.retryable, true);
  assert.equal(srv.seen.length, 1);
  assert.equal(srv.seen[0]!.body, '{"name":"a"}');
  assert.equal(srv.seen[0]!.headers['content-type'], 'application/json');
});

test('a POST marked idempotent is retried on 5xx', async (t) => {
  const srv = await scriptedServer([unavailable, { status: 201, body: { action: { id: 9 } } }]);
  t.after(() => srv.close());
  const res = await client(srv.baseUrl).request('POST', '/droplets/1/actions', { body: { type: 'reboot' }, idempotent: true });
  assert.equal(res.status, 201);
  assert.equal(srv.seen.length, 2);
});

test('a 429 with Retry-After waits that long and then retries, even for a POST', async (t) => {
  const srv = await scriptedServer([
    { status: 429, headers: { 'retry-after': '1' }, body: { id: 'too_many_requests', message: 'API rate limit exceeded.' } },
    { status: 202, body: { droplet: { id: 7 } } },
  ]);
  t.after(() => srv.close());
  const started = Date.now();
  const res = await client(srv.baseUrl).request('POST', '/droplets', { body: {} });
  const waited = Date.now() - started;
  assert.equal(res.status, 202);
  assert.equal(srv.seen.length, 2);
  assert.ok(waited >= 950, `waited only ${waited}ms`);
});

test('a 429 without Retry-After waits until RateLimit-Reset', async (t) => {
  const resetAt = () => String(Math.ceil(Date.now() / 1000) + 1);
  const srv = await scriptedServer((_seen, n) =>
    n === 1
      ? { status: 429, headers: { 'ratelimit-reset': resetAt() }, body: { id: 'too_many_requests', message: 'slow down' } }
      : { status: 200, body: { ok: true } },
  );
  t.after(() => srv.close());
  const started = Date.now();
  await client(srv.baseUrl).request('GET', '/droplets');
  assert.ok(Date.now() - started >= 900);
  assert.equal(srv.seen.length, 2);
});

test('a 429 asking for a longer wait than allowed fails at once as PROVIDER_RATE_LIMITED with retryAfterSeconds', async (t) => {
  const srv = await scriptedServer([
    { status: 429, headers: { 'retry-after': '120' }, body: { id: 'too_many_requests', message: 'API rate limit exceeded.' } },
  ]);
  t.after(() => srv.close());
  const started = Date.now();
  const err = await rejectsWith(client(srv.baseUrl, { maxRateLimitWaitMs: 5_000 }).request('GET', '/droplets'));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_RATE_LIMITED);
  assert.equal(err.retryable, true);
  assert.equal(err.retryAfterSeconds, 120);
  assert.match(err.message, /API rate limit exceeded\./);
  assert.ok(Date.now() - started < 1_000);
  assert.equal(srv.seen.length, 1);
});

test('an attempt that gets no answer times out, is retried, then fails as PROVIDER_TIMEOUT', async (t) => {
  const srv = await scriptedServer(['hang']);
  t.after(() => srv.close());
  const err = await rejectsWith(client(srv.baseUrl, { timeoutMs: 100, retries: 1 }).request('GET', '/droplets/1'));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_TIMEOUT);
  assert.equal(err.retryable, true);
  assert.equal(srv.seen.length, 2);
});

test('a POST that times out is not retried', async (t) => {
  const srv = await scriptedServer(['hang']);
  t.after(() => srv.close());
  const err = await rejectsWith(client(srv.baseUrl, { timeoutMs: 100 }).request('POST', '/droplets', { body: {} }));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_TIMEOUT);
  assert.equal(srv.seen.length, 1);
});

test('aborting during a backoff sleep rejects at once with AbortedError', async (t) => {
  const srv = await scriptedServer([unavailable]);
  t.after(() => srv.close());
  const controller = new AbortController();
  const slow = client(srv.baseUrl, { baseDelayMs: 10_000, maxDelayMs: 10_000, random: () => 0.99 });
  // Abort once the first attempt has been answered, i.e. during the backoff sleep.
  const abortInBackoff = setInterval(() => {
    if (srv.seen.length === 1) {
      clearInterval(abortInBackoff);
      setTimeout(() => controller.abort(), 50);
    }
  }, 5);
  const started = Date.now();
  const err = await rejectsWith(slow.request('GET', '/droplets', { signal: controller.signal }));
  clearInterval(abortInBackoff);
  assert.ok(err instanceof AbortedError, `got ${String(err)}`);
  assert.ok(Date.now() - started < 5_000, 'well before the 10 s backoff ends');
  assert.equal(srv.seen.length, 1);
});

test('aborting while the request is on the wire rejects at once with AbortedError', async (t) => {
  const srv = await scriptedServer(['hang']);
  t.after(() => srv.close());
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const started = Date.now();
  const err = await rejectsWith(client(srv.baseUrl, { timeoutMs: 10_000 }).request('GET', '/droplets', { signal: controller.signal }));
  assert.ok(err instanceof AbortedError);
  assert.ok(Date.now() - started < 1_000);
});

test('an already aborted signal never reaches the server', async (t) => {
  const srv = await scriptedServer([{ status: 200, body: {} }]);
  t.after(() => srv.close());
  const err = await rejectsWith(client(srv.baseUrl).request('GET', '/droplets', { signal: AbortSignal.abort() }));
  assert.ok(err instanceof AbortedError);
  assert.equal(srv.seen.length, 0);
});

test('requests beyond maxConcurrency wait in line, and aborting a queued one rejects it at once', async (t) => {
  let inFlight = 0;
  let peak = 0;
  const srv = await scriptedServer(async (seen) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, seen.url.includes('slow') ? 300 : 30));
    inFlight--;
    return { status: 200, body: { url: seen.url } };
  });
  t.after(() => srv.close());
  const limited = client(srv.baseUrl, { maxConcurrency: 2 });
  const results = await Promise.all([1, 2, 3, 4, 5].map((i) => limited.request('GET', `/droplets/${i}`)));
  assert.equal(results.length, 5);
  assert.equal(peak, 2);

  const single = client(srv.baseUrl, { maxConcurrency: 1 });
  const first = single.request('GET', '/slow');
  const controller = new AbortController();
  const queued = single.request('GET', '/queued', { signal: controller.signal });
  setTimeout(() => controller.abort(), 20);
  const started = Date.now();
  const err = await rejectsWith(queued);
  assert.ok(err instanceof AbortedError);
  assert.ok(Date.now() - started < 200);
  await first;
  assert.ok(!srv.seen.some((s) => s.url.includes('queued')));
});

test('4xx answers map to stable codes and keep the provider message', async (t) => {
  const cases: Array<[number, string, string]> = [
    [400, 'bad_request', ErrorCodes.PROVIDER_REJECTED],
    [401, 'unauthorized', ErrorCodes.PROVIDER_UNAUTHORIZED],
    [403, 'forbidden', ErrorCodes.PROVIDER_FORBIDDEN],
    [404, 'not_found', ErrorCodes.PROVIDER_NOT_FOUND],
    [409, 'conflict', ErrorCodes.PROVIDER_CONFLICT],
    [422, 'unprocessable_entity', ErrorCodes.PROVIDER_REJECTED],
  ];
  let current = cases[0]!;
  const srv = await scriptedServer(() => ({
    status: current[0],
    body: { id: current[1], message: `Size can not decrease size of Droplet's disk image` },
  }));
  t.after(() => srv.close());
  for (const c of cases) {
    current = c;
    const before = srv.seen.length;
    const err = await rejectsWith(client(srv.baseUrl).request('GET', '/droplets/1'));
    assert.ok(err instanceof ProviderError);
    assert.equal(err.code, c[2], `status ${c[0]}`);
    assert.equal(err.retryable, false);
    assert.equal(err.providerStatus, c[0]);
    assert.equal(err.providerCode, c[1]);
    assert.equal(err.message, `digitalocean: ${c[0]} ${c[1]}: Size can not decrease size of Droplet's disk image`);
    assert.equal(srv.seen.length - before, 1, '4xx is never retried');
  }
});

test('the auth token never appears in an error, even when the provider echoes it', async (t) => {
  const srv = await scriptedServer([{ status: 401, body: { id: 'unauthorized', message: `token Bearer ${TOKEN} is not valid` } }]);
  t.after(() => srv.close());
  const err = await rejectsWith(client(srv.baseUrl).request('GET', '/account'));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_UNAUTHORIZED);
  assert.ok(!err.message.includes(TOKEN));
  assert.ok(!JSON.stringify(err.details).includes(TOKEN));
});

test('a success answer whose body is not JSON is PROVIDER_BAD_RESPONSE; an empty body is undefined', async (t) => {
  const srv = await scriptedServer((seen) =>
    seen.method === 'DELETE' ? { status: 204 } : { status: 200, raw: '{"droplets": [' },
  );
  t.after(() => srv.close());
  const err = await rejectsWith(client(srv.baseUrl).request('GET', '/droplets'));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_BAD_RESPONSE);
  const res = await client(srv.baseUrl).request('DELETE', '/droplets/1');
  assert.equal(res.status, 204);
  assert.equal(res.body, undefined);
});

test('a refused connection is retried for a GET and then fails as retryable PROVIDER_UNAVAILABLE', async () => {
  const srv = await scriptedServer([{ status: 200, body: {} }]);
  const deadUrl = srv.baseUrl;
  await srv.close();
  const err = await rejectsWith(client(deadUrl, { retries: 2 }).request('GET', '/droplets'));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_UNAVAILABLE);
  assert.equal(err.retryable, true);
  assert.match(err.message, /ECONNREFUSED/);
  assert.match(err.message, /after 3 attempts/);
});

test('absolute pagination links are re-rooted on the base URL; links outside it are refused', async (t) => {
  const srv = await scriptedServer([{ status: 200, body: { ok: true } }]);
  t.after(() => srv.close());
  const c = client(srv.baseUrl);
  await c.request('GET', 'https://api.digitalocean.com/v2/droplets?page=2&per_page=10');
  assert.equal(srv.seen[0]!.url, '/v2/droplets?page=2&per_page=10');
  const err = await rejectsWith(c.request('GET', 'https://evil.example/other/droplets?page=2'));
  assert.ok(err instanceof ProviderError);
  assert.equal(err.code, ErrorCodes.PROVIDER_BAD_RESPONSE);
  assert.equal(srv.seen.length, 1);
});

test('sleep resolves after the delay and rejects with AbortedError when aborted', async () => {
  const started = Date.now();
  await sleep(30);
  assert.ok(Date.now() - started >= 25);
  const controller = new AbortController();
  const pending = sleep(10_000, controller.signal);
  controller.abort();
  await assert.rejects(pending, AbortedError);
  await assert.rejects(sleep(10, AbortSignal.abort()), AbortedError);
});
