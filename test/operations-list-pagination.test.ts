import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Operation } from '../src/core/operations/model.js';
import { TestSystem } from './helpers/system.js';

describe('listing operations: cursor pagination and filters', () => {
  let sys: TestSystem;
  const created: Operation[] = [];
  before(async () => {
    sys = await TestSystem.start({ workers: 0 });
    for (let i = 0; i < 7; i++) created.push(await sys.createServer({ hostname: `page-${i}`, workspace: i % 2 ? 'staging' : 'production' }));
    await sys.request('POST', `/v1/operations/${created[0]!.id}/cancel`);
  });
  after(async () => {
    await sys?.stop();
  });

  async function allPages(query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let path: string | null = `/v1/operations?limit=${limit}${query}`;
    let pages = 0;
    while (path) {
      const res: { status: number; body: Operation[]; headers: Headers } = await sys.request<Operation[]>('GET', path);
      assert.equal(res.status, 200);
      assert.ok(res.body.length <= limit);
      ids.push(...res.body.map((o) => o.id));
      pages++;
      const link = res.headers.get('link');
      path = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1]! : null;
      if (path) assert.equal(res.headers.get('x-next-cursor'), new URL(path, 'http://x').searchParams.get('cursor'));
      assert.ok(pages < 20, 'pagination ends');
    }
    return { ids, pages };
  }

  test('pages walk every operation once, newest first, following the next link', async () => {
    const { ids, pages } = await allPages('', 3);
    assert.equal(pages, 3);
    assert.deepEqual(ids, created.map((o) => o.id).reverse());
  });

  test('a page that ends exactly at the last item has no next link', async () => {
    const res = await sys.request('GET', '/v1/operations?limit=7');
    assert.equal(res.body.length, 7);
    assert.equal(res.headers.get('link'), null);
  });

  test('filters by workspace, status, type and provider, also across pages', async () => {
    const staging = await allPages('&workspace=staging', 2);
    assert.deepEqual(staging.ids, created.filter((_, i) => i % 2).map((o) => o.id).reverse());
    assert.equal(staging.pages, 2);

    const cancelled = await allPages('&status=cancelled', 5);
    assert.deepEqual(cancelled.ids, [created[0]!.id]);
    const pendingProd = await allPages('&status=pending&workspace=production', 1);
    assert.deepEqual(pendingProd.ids, [created[6]!.id, created[4]!.id, created[2]!.id]);

    assert.equal((await allPages('&type=server.create&provider=digitalocean', 50)).ids.length, 7);
    assert.equal((await allPages('&type=server.delete', 50)).ids.length, 0);
    assert.equal((await allPages('&provider=hetzner', 50)).ids.length, 0);
  });

  test('an operation fetched by id is the full record with the reference\'s fields', async () => {
    const res = await sys.request<Operation>('GET', `/v1/operations/${created[3]!.id}`);
    assert.equal(res.status, 200);
    for (const field of ['id', 'status', 'created_at', 'updated_at', 'result', 'error', 'type', 'workspace', 'provider', 'request', 'attempt', 'trace_id', 'requested_by']) {
      assert.ok(field in res.body, field);
    }
    assert.equal(res.body.request.hostname, 'page-3');
    assert.equal(res.body.requested_by, 'admin');
  });
});
