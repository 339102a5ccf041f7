import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { freePort } from './helpers/free-port.js';
import { http } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
// Small enough that the fleet would overrun it many times over without one budget.
const PER_MINUTE = 60;

let system: TestSystem;
let secondApi: ChildProcess;
let secondApiUrl: string;

async function startSecondApi(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], { cwd: ROOT, env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    const lines: string[] = [];
    const onData = (chunk: Buffer) => {
      lines.push(chunk.toString());
      if (chunk.toString().includes('api listening')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`second API exited (${code}):\n${lines.join('')}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

before(async () => {
  system = await TestSystem.start({
    workers: 3,
    doActiveDelayMs: 2000,
    env: { RATE_LIMIT_DIGITALOCEAN: `${PER_MINUTE}/1m,5000/1h` },
  });
  // The sandbox enforces the same limit DigitalOcean would, per token.
  const limited = await http(system.sandbox.url, 'POST', '/_sandbox/digitalocean/config', {
    token: system.sandbox.token,
    body: { rateLimit: { perHour: 5000, perMinute: PER_MINUTE } },
  });
  assert.equal(limited.status, 200, JSON.stringify(limited.body));
  ({ child: secondApi, url: secondApiUrl } = await startSecondApi(system.env));
});
after(async () => {
  secondApi?.kill('SIGTERM');
  await system.stop();
});

test('two API processes and three workers on one DigitalOcean account never exceed its limit, and all the work gets done', { timeout: 180_000 }, async () => {
  // Creates through both APIs, and listings the APIs answer from the provider itself.
  const creates = Array.from({ length: 30 }, (_, i) =>
    http(i % 2 === 0 ? system.url : secondApiUrl, 'POST', '/v1/servers/create', {
      token: system.token,
      body: { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', zone: 'nyc3', hostname: `budget-${i}` },
    }),
  );
  const accepted = await Promise.all(creates);
  assert.deepEqual(new Set(accepted.map((r) => r.status)), new Set([202]));
  const listings: Array<Promise<{ status: number }>> = [];
  for (let i = 0; i < 40; i++) listings.push(http(i % 2 === 0 ? system.url : secondApiUrl, 'GET', '/do/list', { token: system.token }));

  const done = await Promise.all(accepted.map((r) => system.waitForStatus(r.body.id, ['completed', 'failed', 'cancelled'], 150_000)));
  assert.deepEqual(new Set(done.map((o) => o.status)), new Set(['completed']), JSON.stringify(done.filter((o) => o.status !== 'completed').map((o) => o.error)));
  // A listing may be told to come back later (503 with the provider's wait); none may fail otherwise.
  const listed = await Promise.all(listings);
  assert.ok(listed.every((r) => r.status === 200 || r.status === 503), JSON.stringify(listed.map((r) => r.status)));

  const counts = await http(system.sandbox.url, 'GET', '/_sandbox/requests', { token: system.sandbox.token });
  assert.equal(counts.status, 200);
  const mine = counts.body.digitalocean[system.sandbox.token];
  assert.equal(mine.rate_limited, 0, `the sandbox refused ${mine.rate_limited} requests`);
  assert.ok(mine.requests >= 30, 'the creates reached the provider');
  if (mine.max_per_minute !== undefined) assert.ok(mine.max_per_minute <= PER_MINUTE, `at most ${PER_MINUTE} in any minute, saw ${mine.max_per_minute}`);
});
