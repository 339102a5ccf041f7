import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { reservePort, startReceiver, type Receiver } from './helpers/receiver.js';
import { TestSystem } from './helpers/system.js';

type Verify = (secret: string, rawBody: string, header: string, nowSeconds?: number) => boolean;

/** The verification snippet exactly as README.md's Webhooks section shows it. */
function readmeVerifier(): Verify {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('### Webhooks'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'README.md has a js snippet under ### Webhooks');
  return new Function('require', `${code}\nreturn verifyWebhook;`)(createRequire(import.meta.url)) as Verify;
}

const SECRET = 'a-receiver-secret-of-some-length';

describe('webhooks are signed, retried while the receiver is down, and redelivered on request', () => {
  let sys: TestSystem;
  let port: number;
  let receiver: Receiver | undefined;
  let refusing: Receiver | undefined;

  before(async () => {
    port = await reservePort();
    sys = await TestSystem.start({ env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', OUTBOX_BACKOFF_MS: '300', OUTBOX_ATTEMPTS: '12' } });
  });
  after(async () => {
    await receiver?.close();
    await refusing?.close();
    await sys?.stop();
  });

  const deliveriesOf = async (hook: string, query = '') => {
    const res = await sys.request('GET', `/v1/workspaces/production/webhooks/${hook}/deliveries${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as Array<Record<string, any>>;
  };

  test('an event that happens while the receiver is down is retried, then delivered once, signed, with the trace id', async () => {
    const made = await sys.request('POST', '/v1/workspaces/production/webhooks', { body: { url: `http://127.0.0.1:${port}/hooks`, events: ['operation.completed'], secret: SECRET } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const hook = made.body.id as string;

    const op = await sys.createServer({ hostname: 'hooked-01' });
    await sys.waitForStatus(op.id, ['completed']);

    // Nothing listens on the port: the delivery is attempted, refused, and waits to be retried.
    const retrying = await sys.eventually(async () => (await deliveriesOf(hook)).find((d) => d.status === 'retrying' && d.attempts >= 1), 'a retrying delivery');
    assert.equal(retrying.event_type, 'operation.completed');
    assert.equal(retrying.last_status_code, null);
    assert.match(retrying.last_error, /ECONNREFUSED/);
    assert.equal(retrying.trace_id, op.trace_id);

    receiver = await startReceiver(port);
    const delivered = await sys.eventually(async () => (await deliveriesOf(hook)).find((d) => d.id === retrying.id && d.status === 'delivered'), 'the delivery once the receiver is up', 30000);
    assert.ok(delivered.attempts >= 2);
    assert.equal(delivered.last_status_code, 200);
    assert.ok(delivered.delivered_at);

    // Later retries, re-reads of the stream: none sends it again.
    await new Promise((r) => setTimeout(r, 1500));
    const got = receiver.requests.filter((r) => r.headers['x-pe-delivery'] === delivered.id);
    assert.equal(got.length, 1, 'exactly one request for the delivery');
    const [req] = got;
    assert.equal(req!.method, 'POST');
    assert.equal(req!.url, '/hooks');
    assert.equal(req!.headers['x-pe-event'], 'operation.completed');
    assert.equal(req!.headers['x-trace-id'], op.trace_id);
    const body = JSON.parse(req!.body);
    assert.equal(body.type, 'operation.completed');
    assert.equal(body.workspace, 'production');
    assert.equal(body.trace_id, op.trace_id);
    assert.equal(body.data.operation.id, op.id);
    assert.equal(body.data.to, 'completed');
    assert.equal(delivered.id, `${hook}.${body.id}`);

    const verify = readmeVerifier();
    const signature = String(req!.headers['x-pe-signature']);
    assert.match(signature, /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.equal(verify(SECRET, req!.body, signature), true, "README's snippet verifies the signature");
    assert.equal(verify('another-secret-entirely', req!.body, signature), false);
    assert.equal(verify(SECRET, req!.body.replace('completed', 'failed'), signature), false, 'a changed body does not verify');
    const t = Number(/t=(\d+)/.exec(signature)![1]);
    assert.equal(verify(SECRET, req!.body, signature, t + 301), false, 'a signature older than 5 minutes is refused');

    // Only the subscribed type was sent: no pending or running event of the operation.
    assert.ok(receiver.requests.every((r) => r.headers['x-pe-event'] === 'operation.completed'));
    assert.ok(!sys.workers.flatMap((w) => w.logs).join('\n').includes(SECRET), 'the secret is in no log line');
  });

  test('redeliver sends the same event again under a new id that names the original', async () => {
    const [hookRecord] = (await sys.request('GET', '/v1/workspaces/production/webhooks')).body as Array<{ id: string }>;
    const hook = hookRecord!.id;
    const [original] = (await deliveriesOf(hook, '?status=delivered')) as Array<Record<string, any>>;
    assert.ok(original);
    const before = receiver!.requests.length;
    const res = await sys.request('POST', `/v1/workspaces/production/webhooks/${hook}/deliveries/${original.id}/redeliver`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.notEqual(res.body.id, original.id);
    assert.equal(res.body.redelivery_of, original.id);
    assert.equal(res.body.event_id, original.event_id);
    await sys.eventually(async () => (await deliveriesOf(hook)).find((d) => d.id === res.body.id && d.status === 'delivered'), 'the redelivery');
    const again = receiver!.requests.slice(before).filter((r) => r.headers['x-pe-delivery'] === res.body.id);
    assert.equal(again.length, 1);
    const first = receiver!.requests.find((r) => r.headers['x-pe-delivery'] === original.id)!;
    assert.equal(again[0]!.body, first.body, 'the same event body');
    assert.equal(readmeVerifier()(SECRET, again[0]!.body, String(again[0]!.headers['x-pe-signature'])), true);

    const unknown = await sys.request('POST', `/v1/workspaces/production/webhooks/${hook}/deliveries/${hook}.0-0/redeliver`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error, 'DELIVERY_NOT_FOUND');
  });

  test('a receiver that answers 4xx fails the delivery at once, without retries', async () => {
    refusing = await startReceiver(0, () => 410);
    const made = await sys.request('POST', '/v1/workspaces/production/webhooks', { body: { url: `${refusing.url}/gone`, events: ['*'] } });
    assert.equal(made.status, 201);
    assert.match(made.body.secret, /^whsec_/);
    const ping = await sys.request('POST', `/v1/workspaces/production/webhooks/${made.body.id}/ping`);
    assert.equal(ping.status, 202, JSON.stringify(ping.body));
    assert.equal(ping.body.event_type, 'ping');
    const failed = await sys.eventually(async () => (await deliveriesOf(made.body.id)).find((d) => d.id === ping.body.id && d.status === 'failed'), 'the refused ping');
    assert.equal(failed.attempts, 1);
    assert.equal(failed.last_status_code, 410);
    assert.equal(failed.next_attempt_at, null);
    // Several backoff periods later, still one request.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(refusing.requests.filter((r) => r.headers['x-pe-delivery'] === ping.body.id).length, 1);
    assert.equal((await deliveriesOf(made.body.id, '?status=failed')).length >= 1, true);
  });
});
