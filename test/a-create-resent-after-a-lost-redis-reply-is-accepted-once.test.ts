import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../src/core/config.js';
import { closeCoreContext, createCoreContext, type CoreContext } from '../src/core/context.js';
import { createLogger } from '../src/core/logger.js';
import { submitOperation } from '../src/core/operations/submit.js';
import { startTestRedis, type TestRedis } from './helpers/redis-server.js';

/**
 * A TCP proxy in front of Redis that, once armed, lets the next script call through and then
 * drops the connection instead of passing its reply back: Redis carried the write out, the
 * client never heard. ioredis reconnects and sends the command again, as after a restart or a
 * Sentinel failover.
 */
class ReplyDroppingProxy {
  armed = false;
  dropped = 0;
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(redisPort: number): Promise<ReplyDroppingProxy> {
    let proxy!: ReplyDroppingProxy;
    const server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: redisPort });
      proxy.sockets.add(client).add(upstream);
      let scriptSent = false;
      client.on('data', (chunk) => {
        if (proxy.armed && /EVALSHA|EVAL/i.test(chunk.toString('latin1'))) scriptSent = true;
        upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        if (scriptSent && proxy.armed) {
          proxy.armed = false;
          proxy.dropped++;
          client.destroy();
          upstream.destroy();
          return;
        }
        client.write(chunk);
      });
      for (const s of [client, upstream]) s.on('error', () => undefined).on('close', () => (client.destroy(), upstream.destroy()));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    proxy = new ReplyDroppingProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('a create whose Redis reply was lost and which the client sent again', () => {
  let redis: TestRedis;
  let proxy: ReplyDroppingProxy;
  let ctx: CoreContext;

  before(async () => {
    redis = await startTestRedis();
    proxy = await ReplyDroppingProxy.start(Number(new URL(redis.url).port));
    const url = `redis://127.0.0.1:${proxy.port}`;
    const config = loadConfig({ REDIS_URL: url, KEY_PREFIX: 't' + randomBytes(4).toString('hex'), DIGITALOCEAN_TOKEN: 'x'.repeat(64) });
    ctx = createCoreContext(config, url, createLogger('resend-test', 'error'), 'resend-test');
  });
  after(async () => {
    await closeCoreContext(ctx);
    await proxy.close();
    await redis.stop();
  });

  test('is accepted, once: one record, one job, no error for the caller', async () => {
    // Loaded before arming, so the armed call is the create script itself.
    await ctx.redis.ping();
    proxy.armed = true;
    const op = await submitOperation(ctx, {
      type: 'server.create',
      workspace: 'production',
      provider: 'digitalocean',
      target: { hostname: 'resent-01' },
      request: { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', zone: 'nyc3', hostname: 'resent-01' },
      requestedBy: 'admin',
      traceId: randomUUID(),
    });
    assert.equal(proxy.dropped, 1, 'the create script ran and its reply was dropped');
    const stored = await ctx.store.get(op.id);
    assert.equal(stored?.status, 'pending');
    assert.deepEqual(await ctx.store.idsWithStatus('pending', 10), [op.id], 'one operation');
    const job = await ctx.queues.queueFor(op).getJob(op.id);
    assert.ok(job, 'its job was enqueued');
    assert.equal(await ctx.queues.queueFor(op).count(), 1, 'one job');
  });
});
