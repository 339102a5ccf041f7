import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { Keys } from '../src/core/keys.js';
import { markerTag } from '../src/common/provider.js';
import { startSentinelRedis } from './helpers/sentinel-redis.js';
import { storedOperationIds } from './helpers/stored-operations.js';
import { TestSystem } from './helpers/system.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The names of the clients connected to a node (each engine connection names itself). */
async function clientNames(port: number, password: string): Promise<string[]> {
  const r = new Redis({ host: '127.0.0.1', port, password, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    const list = String(await r.call('CLIENT', 'LIST'));
    return list.split('\n').map((line) => /\bname=(\S*)/.exec(line)?.[1] ?? '').filter((n) => n !== '');
  } finally {
    r.disconnect();
  }
}

test('with REDIS_SENTINELS the engine follows the promoted replica and every accepted create completes once', { timeout: 240_000 }, async (t) => {
  const redis = await startSentinelRedis();
  let system: TestSystem | undefined;
  try {
    system = await TestSystem.start({ redis, workers: 1 });
    const sys = system;
    const firstPrimary = await redis.primaryPort();
    const engineOnFirst = await clientNames(firstPrimary, redis.env.REDIS_PASSWORD!);
    assert.ok(engineOnFirst.includes('api') && engineOnFirst.includes('worker-blocking'), `the engine reached the primary the sentinels name: ${engineOnFirst.join(',')}`);

    // A steady stream of creates from a few clients at once, through the failover.
    const accepted: string[] = [];
    const answeredOtherwise: Array<{ status: number; body: unknown }> = [];
    const unanswered: string[] = [];
    let submitting = true;
    const lane = async (n: number) => {
      for (let i = 0; submitting; i++) {
        try {
          const res = await sys.request('POST', '/v1/servers/create', {
            body: { workspace: 'production', provider: 'digitalocean', plan: 's-1vcpu-1gb', hostname: `fo-${n}-${i}`, zone: 'nyc3', check_mode: false },
          });
          if (res.status === 202) accepted.push(res.body.id);
          else answeredOtherwise.push({ status: res.status, body: res.body });
        } catch (err) {
          unanswered.push((err as Error).message);
        }
        await sleep(25);
      }
    };
    const lanes = [1, 2, 3].map(lane);

    while (accepted.length < 15) await sleep(20);
    const acceptedBeforeKill = accepted.length;
    const killedAt = Date.now();
    const killed = await redis.killPrimary();
    const promoted = await redis.waitForPrimaryOtherThan(killed);
    assert.notEqual(promoted, killed);
    t.diagnostic(`primary ${killed} killed after ${acceptedBeforeKill} accepted creates; replica ${promoted} promoted ${Date.now() - killedAt} ms later`);
    // Keep submitting until the engine has taken a good number more on the promoted primary.
    const deadline = Date.now() + 60_000;
    while (accepted.length < acceptedBeforeKill + 15 && Date.now() < deadline) await sleep(50);
    submitting = false;
    await Promise.all(lanes);
    assert.ok(accepted.length >= acceptedBeforeKill + 15, `creates were accepted after the failover (${acceptedBeforeKill} before, ${accepted.length} in all)`);
    assert.deepEqual(answeredOtherwise, [], 'every create was accepted: the API waited out the failover rather than failing requests');
    assert.deepEqual(unanswered, [], 'every create was answered');

    // Every accepted operation is on the promoted primary and reaches completed. An operation
    // acknowledged by the killed primary but not yet copied to its replica would be gone here
    // (404): replication is asynchronous, and this is where that would show.
    const vanished: string[] = [];
    for (const id of accepted) {
      const res = await sys.request('GET', `/v1/operations/${id}`);
      if (res.status === 404) vanished.push(id);
    }
    assert.deepEqual(vanished, [], 'no accepted operation vanished in the failover');

    // What the killed primary had acknowledged (its own append-only file, fsynced at every
    // write) against what the promoted replica holds: a record only the dead node had is an
    // operation lost to asynchronous replication, whether or not its 202 got out.
    const keys = new Keys(sys.config.keyPrefix);
    const dead = await redis.reopenKilled(killed);
    const deadCopy = new Redis(dead.url, { maxRetriesPerRequest: 1 });
    let onlyOnDeadPrimary: string[];
    let heldByDeadPrimary: number;
    try {
      const deadIds = await storedOperationIds(deadCopy, keys);
      heldByDeadPrimary = deadIds.length;
      const promotedIds = new Set(await storedOperationIds(sys.api.ctx.redis, keys));
      onlyOnDeadPrimary = deadIds.filter((id) => !promotedIds.has(id));
    } finally {
      deadCopy.disconnect();
    }
    t.diagnostic(`the killed primary held ${heldByDeadPrimary} operations; ${onlyOnDeadPrimary.length} of them never reached the replica`);
    assert.ok(heldByDeadPrimary >= acceptedBeforeKill, 'the killed primary\'s own file holds what it accepted');
    assert.deepEqual(onlyOnDeadPrimary, [], 'every operation the killed primary acknowledged had reached the replica');
    for (const id of accepted) {
      const op = await sys.waitForStatus(id, ['completed', 'failed', 'cancelled'], 90_000);
      assert.equal(op.status, 'completed', `operation ${id} ended ${op.status}: ${JSON.stringify(op.error)}`);
    }

    // Exactly one droplet per accepted create, and none that no accepted create asked for.
    const droplets = await sys.droplets();
    for (const id of accepted) {
      const marked = droplets.filter((d) => d.tags.includes(markerTag(id)));
      assert.equal(marked.length, 1, `operation ${id} has ${marked.length} droplets`);
    }
    assert.equal(droplets.length, accepted.length, 'no droplet beyond the accepted creates');

    // Both the API and the worker process now talk to the promoted node.
    const engineOnPromoted = await clientNames(promoted, redis.env.REDIS_PASSWORD!);
    assert.ok(engineOnPromoted.includes('api') && engineOnPromoted.includes('worker-blocking'), `the engine follows the promoted primary: ${engineOnPromoted.join(',')}`);
  } finally {
    if (system) await system.stop();
    else await redis.stop();
  }
});
