import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { TestSystem } from './helpers/system.js';

describe('webhook events a worker read and never acknowledged are taken over by another', () => {
  let sys: TestSystem;
  let receiver: Receiver;

  before(async () => {
    receiver = await startReceiver();
    sys = await TestSystem.start({ workers: 0, env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_CLAIM_IDLE_MS: '500', OUTBOX_BACKOFF_MS: '200' } });
  });
  after(async () => {
    await sys?.stop();
    await receiver?.close();
  });

  test('the entries a dead dispatcher held are delivered once by the next worker', async () => {
    const redis = sys.api.ctx.redis;
    const stream = sys.api.ctx.keys.events();
    // The consumer group as a worker that started earlier made it.
    await redis.xgroup('CREATE', stream, 'webhooks', '$', 'MKSTREAM');
    const made = await sys.request('POST', '/v1/workspaces/production/webhooks', { body: { url: `${receiver.url}/in`, events: ['operation.pending'], secret: 'a-secret-of-sixteen-plus' } });
    assert.equal(made.status, 201);
    const op = await sys.createServer({ hostname: 'claimed-01' });

    // A dispatcher reads the entry, then its worker dies before it acknowledges anything.
    const read = (await redis.xreadgroup('GROUP', 'webhooks', 'worker-dead-1', 'COUNT', 100, 'STREAMS', stream, '>')) as Array<[string, Array<[string, string[]]>]>;
    const entries = read[0]![1];
    assert.ok(entries.some(([, fields]) => fields.includes(op.id)), 'the dead dispatcher held the operation event');
    const pending = (await redis.xpending(stream, 'webhooks')) as [number, ...unknown[]];
    assert.ok(pending[0] >= 1);

    await sys.startWorker();
    const got = await sys.eventually(async () => receiver.requests.find((r) => JSON.parse(r.body).data?.operation?.id === op.id), 'the pending event delivered', 20000);
    assert.equal(got.headers['x-pe-event'], 'operation.pending');
    assert.equal(got.headers['x-trace-id'], op.trace_id);

    // Taken over, acknowledged, and not delivered twice.
    await sys.eventually(async () => {
      const [count] = (await redis.xpending(stream, 'webhooks')) as [number];
      return count === 0 ? true : undefined;
    }, 'nothing left pending');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(receiver.requests.filter((r) => r.headers['x-pe-delivery'] === got.headers['x-pe-delivery']).length, 1);
  });
});
