import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/core/config.js';
import { resolvePeer } from '../src/core/udc/peers.js';

/** loadConfig refuses `env` with a ConfigError naming `setting` and matching `problem`. */
function refused(env: Record<string, string>, setting: string, problem: RegExp): void {
  assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && err.message.includes(setting) && problem.test(err.message));
}

describe('the mesh settings are checked at boot', () => {
  test('MESH_PEERS is parsed, with the JWKS URL defaulting to the peer\'s well-known path', () => {
    const config = loadConfig({ MESH_PEERS: JSON.stringify([{ id: 7, name: 'orchestrator', url: 'https://orch.example/', required: true, workspaces: { web: 'operator' } }, { id: 9, name: 'billing', url: 'http://billing:8000', jwks_url: 'http://keys.example/jwks' }]) });
    assert.deepEqual(
      config.droplet.meshPeers.map((p) => ({ ...p, workspaces: { ...p.workspaces } })),
      [
        { id: 7, name: 'orchestrator', url: 'https://orch.example', jwksUrl: 'https://orch.example/.well-known/jwks.json', required: true, workspaces: { web: 'operator' } },
        { id: 9, name: 'billing', url: 'http://billing:8000', jwksUrl: 'http://keys.example/jwks', required: false, workspaces: {} },
      ],
    );
    assert.equal(resolvePeer(config, 7)?.name, 'orchestrator');
    assert.equal(resolvePeer(config, '9')?.name, 'billing');
    assert.equal(resolvePeer(config, 'billing')?.id, 9);
    assert.equal(resolvePeer(config, 'nobody'), null);
    assert.equal(resolvePeer(config, 8), null);
    assert.deepEqual(loadConfig({}).droplet.meshPeers, []);
  });

  test('a bad MESH_PEERS names the setting and the problem', () => {
    refused({ MESH_PEERS: 'orchestrator=http://x' }, 'MESH_PEERS', /JSON array/);
    refused({ MESH_PEERS: '{"id": 7}' }, 'MESH_PEERS', /JSON array/);
    refused({ MESH_PEERS: '[{"id": 7, "name": "o", "url": "ftp://x"}]' }, 'MESH_PEERS', /url must be an http\(s\) URL/);
    refused({ MESH_PEERS: '[{"id": -1, "name": "o", "url": "http://x"}]' }, 'MESH_PEERS', /id must be a whole number/);
    refused({ MESH_PEERS: '[{"id": 7, "name": "o", "url": "http://x", "secret": "s"}]' }, 'MESH_PEERS', /unknown field 'secret'/);
    refused({ MESH_PEERS: '[{"id": 7, "name": "o", "url": "http://x"}, {"id": 7, "name": "p", "url": "http://y"}]' }, 'MESH_PEERS', /id 7 twice/);
    refused({ MESH_PEERS: '[{"id": 7, "name": "o", "url": "http://x", "required": "yes"}]' }, 'MESH_PEERS', /required must be true or false/);
    refused({ MESH_PEERS: '[{"id": 7, "name": "o", "url": "http://x", "workspaces": ["web"]}]' }, 'MESH_PEERS', /workspaces must be an object/);
    refused({ MESH_PEERS: '[{"id": 7, "name": "o", "url": "http://x", "workspaces": {"web": "root"}}]' }, 'MESH_PEERS', /workspaces.web must be one of/);
  });

  test('MESH_TOKEN must be a JWT and is never echoed; the key file must exist; the heartbeat has bounds', () => {
    assert.throws(() => loadConfig({ MESH_TOKEN: 'not a token at all' }), (err: unknown) => err instanceof ConfigError && /MESH_TOKEN/.test(err.message) && !err.message.includes('not a token at all'));
    refused({ DROPLET_SIGNING_KEY_FILE: '/nonexistent/droplet.pem' }, 'DROPLET_SIGNING_KEY_FILE', /does not exist/);
    refused({ REGISTRY_HEARTBEAT_MS: '5' }, 'REGISTRY_HEARTBEAT_MS', /between/);
    assert.equal(loadConfig({}).droplet.registryHeartbeatMs, 30000);
    assert.equal(loadConfig({}).droplet.meshToken, null);
  });
});
