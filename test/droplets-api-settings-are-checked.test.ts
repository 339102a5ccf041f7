import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/core/config.js';

describe('the droplets API settings are checked at boot', () => {
  test('droplets go to DigitalOcean and the default project unless set', () => {
    assert.deepEqual(loadConfig({}).dropletsApi, { provider: 'digitalocean', defaultProject: 'default' });
    assert.deepEqual(loadConfig({ DROPLETS_PROVIDER: 'vultr', DROPLETS_DEFAULT_PROJECT: 'web' }).dropletsApi, { provider: 'vultr', defaultProject: 'web' });
  });

  test('an unknown provider or a project name that is no workspace name stops the boot, naming the setting', () => {
    assert.throws(() => loadConfig({ DROPLETS_PROVIDER: 'kubevirt' }), (err: unknown) => err instanceof ConfigError && /DROPLETS_PROVIDER/.test(err.message));
    assert.throws(() => loadConfig({ DROPLETS_DEFAULT_PROJECT: 'Not A Project' }), (err: unknown) => err instanceof ConfigError && /DROPLETS_DEFAULT_PROJECT/.test(err.message));
  });
});
