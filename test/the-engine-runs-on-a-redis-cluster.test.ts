import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/core/config.js';
import { startTestRedisCluster } from './helpers/redis-cluster.js';
import { TestSystem } from './helpers/system.js';

/** Every key on one cluster node (SCAN with a pattern), with its slot. */
async function keysOnNode(port: number, password: string, pattern: string): Promise<Array<{ key: string; slot: number }>> {
  const node = new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 1 });
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const slots = await Promise.all(keys.map((k) => node.call('CLUSTER', 'KEYSLOT', k) as Promise<number>));
    return keys.map((key, i) => ({ key, slot: slots[i]! }));
  } finally {
    node.disconnect();
  }
}

describe('the engine runs on a three-master Redis Cluster', () => {
  let cluster: Awaited<ReturnType<typeof startTestRedisCluster>>;
  let sys: TestSystem;
  before(async () => {
    cluster = await startTestRedisCluster();
    sys = await TestSystem.start({ redis: cluster, workers: 1 });
  });
  after(async () => {
    await sys?.stop();
  });

  test('creates, an Idempotency-Key resend and a filtered listing work, and every key the engine wrote shares its prefix\'s hash tag on one node', { timeout: 120_000 }, async () => {
    const prefix = sys.config.keyPrefix;
    assert.match(prefix, /^\{t[0-9a-f]{8}\}$/, 'on a cluster the key prefix is wrapped in braces: the hash tag of every key');

    const first = await sys.createServer({ hostname: 'cl-01' });
    const resent = await sys.request('POST', '/v1/servers/create', {
      headers: { 'Idempotency-Key': 'cl-02-once' },
      body: { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'cl-02', zone: 'nyc3', check_mode: false },
    });
    const again = await sys.request('POST', '/v1/servers/create', {
      headers: { 'Idempotency-Key': 'cl-02-once' },
      body: { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: 'cl-02', zone: 'nyc3', check_mode: false },
    });
    assert.equal(resent.status, 202);
    assert.equal(again.body.id, resent.body.id, 'the resend answers the same operation');
    assert.equal((await sys.waitForStatus(first.id, ['completed', 'failed'], 60_000)).status, 'completed');
    assert.equal((await sys.waitForStatus(resent.body.id, ['completed', 'failed'], 60_000)).status, 'completed');
    assert.equal((await sys.droplets('&tag_name=pe-op:' + first.id)).length, 1, 'one droplet for one create');

    const list = await sys.request('GET', '/v1/operations?status=completed&workspace=production&limit=10');
    assert.equal(list.status, 200);
    assert.deepEqual(new Set((list.body as Array<{ id: string }>).map((op) => op.id)), new Set([first.id, resent.body.id]));

    // Every key of this engine (its own and BullMQ's) is in the prefix's slot, on the node that serves it.
    const probe = new Redis({ host: '127.0.0.1', port: cluster.ports[0], password: cluster.env.REDIS_PASSWORD });
    const slot = Number(await probe.call('CLUSTER', 'KEYSLOT', prefix));
    probe.disconnect();
    const perNode = await Promise.all(cluster.ports.map((port) => keysOnNode(port, cluster.env.REDIS_PASSWORD!, `${prefix.replace(/[{}]/g, '\\$&')}*`)));
    const holding = perNode.filter((keys) => keys.length > 0);
    assert.equal(holding.length, 1, 'one node holds every key of the engine');
    const keys = holding[0]!;
    assert.ok(keys.some((k) => k.key.startsWith(`${prefix}:op:`)), 'operation records');
    assert.ok(keys.some((k) => k.key.startsWith(`${prefix}:bull:`)), 'BullMQ queues, under the same hash tag');
    assert.ok(keys.some((k) => k.key.startsWith(`${prefix}:idem:`)), 'idempotency keys');
    assert.deepEqual(keys.filter((k) => k.slot !== slot), [], 'no key outside the prefix\'s slot');
  });

  test('REDIS_CLUSTER_NODES is checked at boot and cannot be combined with REDIS_URL or REDIS_SENTINELS', () => {
    const base = { JWT_SECRET: 'x'.repeat(40), ADMIN_PASSWORD: 'a-long-admin-password' };
    assert.throws(() => loadConfig({ ...base, REDIS_CLUSTER_NODES: '127.0.0.1:7000,nohost' }), /REDIS_CLUSTER_NODES.*entry 2 must be host:port/);
    assert.throws(() => loadConfig({ ...base, REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_URL: 'redis://127.0.0.1:6379' }), /REDIS_CLUSTER_NODES.*REDIS_URL/);
    assert.throws(() => loadConfig({ ...base, REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_SENTINELS: '127.0.0.1:26379' }), /REDIS_CLUSTER_NODES.*REDIS_SENTINELS/);
    const config = loadConfig({ ...base, REDIS_CLUSTER_NODES: '127.0.0.1:7000, [::1]:7001', REDIS_PASSWORD: 'node-password', KEY_PREFIX: 'eng' });
    assert.deepEqual(config.redisCluster?.nodes, [{ host: '127.0.0.1', port: 7000 }, { host: '::1', port: 7001 }]);
    assert.equal(config.keyPrefix, '{eng}');
    assert.equal(loadConfig({ ...base, KEY_PREFIX: 'eng' }).keyPrefix, 'eng', 'one Redis keeps the keys as they were');
  });
});
