import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServerBody } from '../src/api/schemas/servers.js';
import { TestSystem } from './helpers/system.js';

describe('health, OpenAPI document and Swagger UI', () => {
  let sys: TestSystem;
  before(async () => {
    sys = await TestSystem.start({ workers: 0 });
  });
  after(async () => {
    await sys?.stop();
  });

  test('/health needs no token and reports Redis', async () => {
    const res = await sys.request('GET', '/health', { auth: false });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'healthy');
    assert.equal(res.body.checks.redis, 'ok');
    assert.equal(typeof res.body.uptime_seconds, 'number');
    assert.match(res.body.version, /^\d+\.\d+\.\d+/);
  });

  test('/openapi.json documents every route with the schemas that validate requests', async () => {
    const res = await sys.request('GET', '/openapi.json', { auth: false });
    assert.equal(res.status, 200);
    assert.equal(res.body.openapi, '3.1.0');
    for (const [path, method] of [
      ['/v1/servers/create', 'post'], ['/v1/servers', 'get'], ['/v1/servers/{id}', 'delete'], ['/v1/servers/{id}/actions', 'post'],
      ['/v1/servers/{id}/status', 'get'], ['/v1/operations', 'get'], ['/v1/operations/{id}', 'get'], ['/v1/operations/{id}/cancel', 'post'],
      ['/v1/auth/login', 'post'], ['/health', 'get'],
    ] as const) {
      assert.ok(res.body.paths[path]?.[method], `${method} ${path}`);
    }
    const create = res.body.paths['/v1/servers/create'].post;
    assert.deepEqual(create.requestBody.content['application/json'].schema, JSON.parse(JSON.stringify(createServerBody)));
    assert.ok(create.responses['202']);
    assert.deepEqual(create.security, [{ bearerAuth: [] }]);
    const list = res.body.paths['/v1/operations'].get;
    assert.deepEqual(list.parameters.map((p: { name: string }) => p.name).sort(), ['cursor', 'limit', 'provider', 'status', 'type', 'workspace']);
  });

  test('/docs serves Swagger UI pointed at the document', async () => {
    const page = await fetch(`${sys.url}/docs/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /swagger-ui/i);
    const init = await fetch(`${sys.url}/docs/swagger-ui-init.js`);
    assert.equal(init.status, 200);
    assert.match(await init.text(), /\/openapi\.json/);
  });
});
