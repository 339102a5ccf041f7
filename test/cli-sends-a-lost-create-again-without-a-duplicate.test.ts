import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cliSuite, shown } from './helpers/cli.js';

/** The Idempotency-Key header of a request, if it carried one. */
function idempotencyKeyOf(request: string): string | undefined {
  return /^idempotency-key: (\S+)\r?$/im.exec(request)?.[1];
}

describe('a create whose answer was lost is sent again under the same Idempotency-Key', () => {
  const cli = cliSuite({ workers: 1 }, { proxy: true });

  test('the API made the operation, the answer never arrived: one operation, one server, exit 0', async () => {
    let dropped = 0;
    // The first create reaches the API and is accepted; its answer is dropped on the way back.
    cli.proxy.dropAnswer = (conn) => conn.request.startsWith('POST /v1/servers/create') && dropped++ === 0;
    const r = await cli.home.run(['servers', 'create', '--provider', 'digitalocean', '--plan', 's-1vcpu-1gb', '--zone', 'nyc3', '--workspace', 'production', '--hostname', 'lost-answer-01', '--wait']);
    cli.proxy.dropAnswer = null;
    assert.equal(r.code, 0, shown(r));
    assert.equal(dropped, 2, 'sent twice: the answer of the first was dropped');

    const creates = cli.proxy.connections.flatMap((c) => c.exchanges).filter((e) => e.request.startsWith('POST /v1/servers/create'));
    const keys = creates.map((e) => idempotencyKeyOf(e.request));
    assert.equal(creates.length, 2);
    assert.ok(keys[0], 'the first try carried a key');
    assert.equal(keys[1], keys[0], 'the second try carried the same key');
    assert.match(creates[1]!.response, /idempotent-replayed: true/i, 'the second answer is the first one replayed');

    const ops = await cli.sys.request<Array<{ id: string; request: { hostname: string } }>>('GET', '/v1/operations?type=server.create&limit=100');
    assert.equal(ops.body.filter((o) => o.request.hostname === 'lost-answer-01').length, 1, 'one operation');
    assert.equal((await cli.sys.droplets()).filter((d) => d.name === 'lost-answer-01').length, 1, 'one server at the provider');
  });

  test('the console, whose answer is never kept, is sent without a key', async () => {
    const r = await cli.home.run(['servers', 'console', 'srv-does-not-exist']);
    assert.equal(r.code, 5, shown(r));
    const consoles = cli.proxy.connections.flatMap((c) => c.exchanges).filter((e) => /^POST \/v1\/servers\/[^/]+\/console/.test(e.request));
    assert.equal(consoles.length, 1);
    assert.equal(idempotencyKeyOf(consoles[0]!.request), undefined);
  });
});
