import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TestSystem } from './helpers/system.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'node_modules', '.bin');

/** How long the sandbox's droplets take to boot: the create stays `running` far longer than the client needs. */
const BOOT_MS = 60000;

interface Run {
  code: number | null;
  output: string;
}

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { ...process.env, ...env }, timeout: 120000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/**
 * A client program as its user would write it: openapi-fetch typed by the generated `paths`,
 * and the operation record's type taken from the generated `operations`, by operationId.
 */
const CLIENT = `import createClient from 'openapi-fetch';
import type { operations, paths } from './api.js';

/** The operation record, as createServer answers it. */
type Operation = operations['createServer']['responses'][202]['content']['application/json'];

const baseUrl = process.env.API_URL ?? '';
const deadline = Date.now() + 40000;

function report(step: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ step, ...fields }));
}

function fail(what: string, status: number, error: unknown): never {
  throw new Error(what + ' answered ' + status + ': ' + JSON.stringify(error));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const anonymous = createClient<paths>({ baseUrl });
const login = await anonymous.POST('/v1/auth/login', { body: { username: process.env.API_USERNAME ?? '', password: process.env.API_PASSWORD ?? '' } });
if (!login.data) fail('login', login.response.status, login.error);
report('logged-in', { token_type: login.data.token_type, expires_in: login.data.expires_in });

const api = createClient<paths>({ baseUrl, headers: { Authorization: 'Bearer ' + login.data.token } });

async function getOperation(id: string): Promise<Operation> {
  const res = await api.GET('/v1/operations/{id}', { params: { path: { id } } });
  if (!res.data) fail('getOperation', res.response.status, res.error);
  return res.data;
}

async function until(id: string, done: (op: Operation) => boolean, what: string): Promise<Operation> {
  for (;;) {
    const op = await getOperation(id);
    if (done(op)) return op;
    if (Date.now() > deadline) throw new Error('gave up waiting for ' + what + '; last: ' + JSON.stringify(op));
    await sleep(100);
  }
}

const created = await api.POST('/v1/servers/create', {
  body: { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', zone: 'nyc3', hostname: 'generated-client-01', check_mode: false, tags: ['generated-client'] },
});
if (!created.data) fail('createServer', created.response.status, created.error);
report('created', { http: created.response.status, id: created.data.id, type: created.data.type, status: created.data.status, location: created.response.headers.get('location') });

const started = await until(created.data.id, (op) => op.status !== 'pending', 'a worker to take it');
report('started', { status: started.status, started_at: started.started_at, attempt: started.attempt });

const cancel = await api.POST('/v1/operations/{id}/cancel', { params: { path: { id: started.id } } });
if (!cancel.data) fail('cancelOperation', cancel.response.status, cancel.error);
report('cancel-requested', { http: cancel.response.status, status: cancel.data.status, cancel_requested_at: cancel.data.cancel_requested_at, cancel_requested_by: cancel.data.cancel_requested_by });

const finished = await until(started.id, (op) => op.status === 'completed' || op.status === 'failed' || op.status === 'cancelled', 'it to finish');
report('finished', { status: finished.status, finished_at: finished.finished_at, error: finished.error, result: finished.result });
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  },
  files: ['client.ts'],
};

describe('a client generated from /openapi.json drives the API', () => {
  let sys: TestSystem;
  let dir: string;
  before(async () => {
    sys = await TestSystem.start({ workers: 1, doActiveDelayMs: BOOT_MS });
    // A project of its own beside the repository's, using the repository's installed packages.
    dir = await mkdtemp(join(tmpdir(), 'generated-client-'));
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'generated-client', private: true, type: 'module' }, null, 2));
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    const res = await fetch(`${sys.url}/openapi.json`);
    assert.equal(res.status, 200);
    await writeFile(join(dir, 'openapi.json'), await res.text());
    const generated = await run(join(BIN, 'openapi-typescript'), ['openapi.json', '-o', 'api.ts'], dir);
    assert.equal(generated.code, 0, `openapi-typescript failed:\n${generated.output}`);
  });
  after(async () => {
    await sys?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the generated types name every operation by its operationId', async () => {
    const types = await readFile(join(dir, 'api.ts'), 'utf8');
    for (const id of ['login', 'createServer', 'getServer', 'listServers', 'submitWorkflow']) {
      assert.match(types, new RegExp(`\\n    ${id}: \\{`), `operations.${id}`);
    }
  });

  test('it compiles under --strict, logs in, creates a server, watches it run, cancels it and sees it end cancelled', async () => {
    await writeFile(join(dir, 'client.ts'), CLIENT);
    const compiled = await run(join(BIN, 'tsc'), ['-p', 'tsconfig.json'], dir);
    assert.equal(compiled.code, 0, `the client does not compile against the generated types:\n${compiled.output}`);

    const started = Date.now();
    const ran = await run(process.execPath, ['--import', 'tsx', 'client.ts'], dir, { API_URL: sys.url, API_USERNAME: 'admin', API_PASSWORD: sys.adminPassword });
    assert.equal(ran.code, 0, `the client failed:\n${ran.output}`);
    const steps = ran.output.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
    assert.deepEqual(steps.map((s) => s.step), ['logged-in', 'created', 'started', 'cancel-requested', 'finished'], ran.output);
    const [login, created, running, cancel, finished] = steps as [Record<string, any>, Record<string, any>, Record<string, any>, Record<string, any>, Record<string, any>];

    assert.equal(login.token_type, 'Bearer');
    assert.equal(typeof login.expires_in, 'number');
    assert.equal(created.http, 202);
    assert.equal(created.type, 'server.create');
    assert.equal(created.status, 'pending');
    assert.equal(created.location, `/v1/operations/${created.id}`);
    assert.equal(running.status, 'running', 'the slow boot keeps it running');
    assert.ok(running.started_at);
    assert.equal(cancel.http, 202, 'a running operation is asked to stop');
    assert.equal(cancel.status, 'running');
    assert.ok(cancel.cancel_requested_at);
    assert.equal(cancel.cancel_requested_by, 'admin');
    assert.equal(finished.status, 'cancelled', JSON.stringify(finished));
    assert.ok(finished.finished_at);
    assert.ok(Date.now() - started < BOOT_MS, 'cancelled long before the server would have booted');

    // What the client saw is what the engine holds, and nothing is left at the provider.
    const op = await sys.request('GET', `/v1/operations/${created.id}`);
    assert.equal(op.body.status, 'cancelled');
    assert.deepEqual(await sys.serversMarkedBy('digitalocean', created.id), []);
  });

  test('a field the API does not have is a compile error, not a runtime surprise', async () => {
    await writeFile(join(dir, 'client.ts'), CLIENT.replace('cancel_requested_at: cancel.data.cancel_requested_at', 'cancel_requested_at: cancel.data.cancel_requested'));
    const compiled = await run(join(BIN, 'tsc'), ['-p', 'tsconfig.json'], dir);
    assert.notEqual(compiled.code, 0, 'a misspelt response field compiled');
    assert.match(compiled.output, /client\.ts\(\d+,\d+\): error TS\d+: Property 'cancel_requested' does not exist/, compiled.output);

    await writeFile(join(dir, 'client.ts'), CLIENT.replace("hostname: 'generated-client-01'", "host_name: 'generated-client-01'"));
    const body = await run(join(BIN, 'tsc'), ['-p', 'tsconfig.json'], dir);
    assert.notEqual(body.code, 0, 'a misspelt request field compiled');
    assert.match(body.output, /host_name/, body.output);
  });
});
