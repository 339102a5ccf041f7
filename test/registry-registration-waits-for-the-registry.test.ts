import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { freePort } from './helpers/free-port.js';
import { TestSystem } from './helpers/system.js';

interface Received {
  path: string;
  authorization: string;
  body: Record<string, any>;
}

/** What the stand-in registry does next: with `forget`, it answers the next heartbeat 404 (it lost its records). */
const behaviour = { forget: false };

/** A loopback stand-in for the mesh registry: records what it is sent and answers 200. */
function startRegistry(port: number, received: Received[]): Promise<Server> {
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      received.push({ path: req.url ?? '', authorization: String(req.headers.authorization ?? ''), body: text ? (JSON.parse(text) as Record<string, any>) : {} });
      res.setHeader('content-type', 'application/json');
      if (behaviour.forget && req.url === '/heartbeat') {
        behaviour.forget = false;
        res.statusCode = 404;
        return res.end('{"detail":"unknown droplet"}');
      }
      res.end('{"status":"ok"}');
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('registration waits for the registry without holding up the API', () => {
  let sys: TestSystem;
  let port: number;
  let registry: Server | undefined;
  const received: Received[] = [];

  before(async () => {
    // Free a moment ago, nobody listening now: the registry is down when the API starts.
    port = await freePort();
    const started = Date.now();
    sys = await TestSystem.start({
      workers: 0,
      env: { DROPLET_ID: '42', DROPLET_NAME: 'engine', DROPLET_ENDPOINT: 'http://engine.example.test:8083', REGISTRY_URL: `http://127.0.0.1:${port}`, REGISTRY_HEARTBEAT_MS: '200' },
    });
    assert.ok(Date.now() - started < 15000);
  });
  after(async () => {
    await sys?.stop();
    if (registry) await new Promise<void>((resolve) => registry!.close(() => resolve()));
  });

  test('the API serves while the registry is down, then registers and heartbeats once it is up', async () => {
    const health = await sys.request('GET', '/health', { auth: false });
    assert.equal(health.status, 200);
    const deps = await sys.request('GET', '/dependencies');
    assert.equal(deps.status, 200);
    assert.ok(deps.body.missing.some((d: { id: string; status: string }) => d.id === 'registry' && d.status === 'unreachable'));

    // Let a few attempts fail against the closed port first.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(received.length, 0);
    registry = await startRegistry(port, received);

    const registration = await sys.eventually(async () => received.find((r) => r.path === '/register'), 'a registration', 20000);
    assert.deepEqual(
      { id: registration.body.id, name: registration.body.name, endpoint: registration.body.endpoint, jwks_url: registration.body.jwks_url },
      { id: 42, name: 'engine', endpoint: 'http://engine.example.test:8083', jwks_url: 'http://engine.example.test:8083/.well-known/jwks.json' },
    );
    assert.equal(typeof registration.body.steward, 'string');
    assert.match(registration.body.version, /^\d+\.\d+\.\d+/);
    assert.ok(Array.isArray(registration.body.capabilities) && registration.body.capabilities.length > 0);

    // The bearer is a short-lived token of the droplet, for the registry alone, checked with the droplet's own JWKS.
    const token = /^Bearer (\S+)$/.exec(registration.authorization)?.[1];
    assert.ok(token, 'a bearer token is sent');
    const keys = await sys.request('GET', '/.well-known/jwks.json', { auth: false });
    const claims = jwt.verify(token, createPublicKey({ key: keys.body.keys[0], format: 'jwk' }), {
      algorithms: ['RS256'],
      audience: `http://127.0.0.1:${port}`,
      issuer: 'http://engine.example.test:8083',
      subject: '42',
    }) as jwt.JwtPayload;
    assert.ok(claims.exp! - claims.iat! <= 300);

    const beats = await sys.eventually(async () => {
      const list = received.filter((r) => r.path === '/heartbeat');
      return list.length >= 2 ? list : undefined;
    }, 'two heartbeats', 20000);
    assert.equal(beats[0]!.body.id, 42);
    assert.equal(beats[0]!.body.status, 'active');
    assert.match(beats[0]!.body.updated_at, /^\d{4}-\d{2}-\d{2}T/);
    // Registered once: heartbeats follow, not more registrations.
    assert.equal(received.filter((r) => r.path === '/register').length, 1);

    const reachable = await sys.request('GET', '/dependencies');
    assert.ok(reachable.body.optional.some((d: { id: string }) => d.id === 'registry'));
  });

  test('a registry that forgot the droplet gets a new registration', async () => {
    const before = received.filter((r) => r.path === '/register').length;
    behaviour.forget = true;
    await sys.eventually(async () => (received.filter((r) => r.path === '/register').length > before ? true : undefined), 'a second registration', 20000);
    const last = received.length;
    await sys.eventually(async () => (received.slice(last).some((r) => r.path === '/heartbeat') ? true : undefined), 'heartbeats again', 20000);
  });

  test('stopping the API ends the registry client at once', async () => {
    const started = Date.now();
    await sys.stop();
    assert.ok(Date.now() - started < 10000, `stop took ${Date.now() - started} ms`);
    const count = received.length;
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(received.length, count, 'no heartbeat after the API closed');
    sys = undefined as unknown as TestSystem;
  });
});
