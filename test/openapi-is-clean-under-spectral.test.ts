import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { Authenticator } from '../src/core/auth/authenticate.js';
import { OpenApiRegistry } from '../src/api/openapi.js';
import { routeMounter, type RouteSpec } from '../src/api/route.js';
import { prefixedOperationId } from '../src/api/routes/multi-cloud.js';
import { TestSystem } from './helpers/system.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SPECTRAL = join(ROOT, 'node_modules', '.bin', 'spectral');

interface SpectralResult {
  code: string;
  message: string;
  path: Array<string | number>;
  /** 0 error, 1 warning, 2 information, 3 hint. */
  severity: number;
}

const SEVERITY = ['error', 'warning', 'information', 'hint'];

/**
 * Runs the Spectral CLI on a file with the repository's ruleset, as a user would in CI: it
 * exits non-zero on any warning (`--fail-severity warn`) and prints only the JSON (`--quiet`).
 */
function spectralLint(file: string): Promise<{ exitCode: number; results: SpectralResult[] }> {
  const args = ['lint', file, '--ruleset', join(ROOT, '.spectral.yaml'), '-f', 'json', '--fail-severity', 'warn', '--quiet'];
  return new Promise((resolve, reject) => {
    execFile(SPECTRAL, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 120000 }, (err, stdout, stderr) => {
      const exitCode = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      try {
        resolve({ exitCode, results: JSON.parse(stdout) as SpectralResult[] });
      } catch {
        reject(new Error(`spectral gave no JSON (exit ${exitCode}${err ? `: ${err.message}` : ''}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

const describeResult = (r: SpectralResult) => `${SEVERITY[r.severity] ?? r.severity} ${r.code} at ${r.path.join('.') || '(document)'}: ${r.message}`;

type Document = { tags?: Array<{ name: string; description?: string }>; paths: Record<string, Record<string, { operationId?: string; tags?: string[] }>> };

describe('/openapi.json is clean under Spectral', () => {
  let sys: TestSystem;
  let dir: string;
  let doc: Document;
  let text: string;
  before(async () => {
    sys = await TestSystem.start({ workers: 0 });
    dir = await mkdtemp(join(tmpdir(), 'spectral-'));
    // Fetched over HTTP, as any user of the API gets it.
    const res = await fetch(`${sys.url}/openapi.json`);
    assert.equal(res.status, 200);
    text = await res.text();
    doc = JSON.parse(text) as Document;
  });
  after(async () => {
    await sys?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("no errors and no warnings under the repository's ruleset (spectral:oas)", async () => {
    const file = join(dir, 'openapi.json');
    await writeFile(file, text);
    const { exitCode, results } = await spectralLint(file);
    const problems = results.filter((r) => r.severity <= 1);
    assert.deepEqual(problems.map(describeResult), [], `Spectral found ${problems.length} problem(s):\n${problems.map(describeResult).join('\n')}`);
    assert.equal(exitCode, 0);
  });

  test('every operation has its own lowerCamelCase operationId and a declared, described tag', () => {
    const declared = new Map((doc.tags ?? []).map((t) => [t.name, t.description]));
    const seen = new Map<string, string>();
    const problems: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const where = `${method.toUpperCase()} ${path}`;
        if (!op.operationId) problems.push(`${where}: no operationId`);
        else if (!/^[a-z][a-zA-Z0-9]*$/.test(op.operationId)) problems.push(`${where}: operationId '${op.operationId}' is not lowerCamelCase`);
        else if (seen.has(op.operationId)) problems.push(`${where}: operationId '${op.operationId}' is also ${seen.get(op.operationId)}'s`);
        else seen.set(op.operationId, where);
        for (const tag of op.tags ?? []) if (!declared.get(tag)) problems.push(`${where}: tag '${tag}' is not declared with a description`);
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(seen.size > 50, `only ${seen.size} operations documented`);
  });

  test('a route without an operationId, or with one another route has, is refused when it is mounted', () => {
    const route = routeMounter(express.Router(), new OpenApiRegistry(), { authenticator: {} as Authenticator });
    const spec = (operationId: string | undefined, path: string): RouteSpec => ({
      method: 'GET', path, operationId, tag: 'system', summary: 'A route', auth: false,
      responses: { 200: { description: 'OK' } },
      handler: async () => ({ status: 200, body: {} }),
    });
    route(spec('getThing', '/thing'));
    assert.throws(() => route(spec(undefined, '/nameless')), /GET \/nameless: give the route an operationId/);
    assert.throws(() => route(spec('getThing', '/other-thing')), /GET \/other-thing: operationId 'getThing' is already GET \/thing's/);
    assert.throws(() => route(spec('get-thing', '/kebab')), /must be lowerCamelCase/);
  });

  test("the multi-cloud routes' operationIds are built from their path prefix as lowerCamelCase", () => {
    assert.equal(prefixedOperationId('do', 'List'), 'doList');
    assert.equal(prefixedOperationId('my-cloud', 'Register'), 'myCloudRegister');
    assert.equal(prefixedOperationId('Up.Cloud', 'Delete'), 'upCloudDelete');
    assert.equal(prefixedOperationId('9cloud', 'Action'), 'p9cloudAction');
  });
});
