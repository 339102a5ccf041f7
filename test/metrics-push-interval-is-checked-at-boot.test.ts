import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/core/config.js';

const BASE = { KEY_PREFIX: 'pushcheck', ADMIN_PASSWORD: 'p'.repeat(16), JWT_SECRET: 'a'.repeat(64) };

describe('METRICS_PUSH_MS is checked when a process starts', () => {
  test('unset, a worker pushes every 5 s', () => {
    assert.equal(loadConfig(BASE).metricsPushMs, 5000);
    assert.equal(loadConfig({ ...BASE, METRICS_PUSH_MS: '250' }).metricsPushMs, 250);
  });

  test('a value that is not a whole number of ms between 100 and 300000 stops the process, naming the setting', () => {
    for (const bad of ['abc', '1.5', '-1', '0', '99', '300001']) {
      assert.throws(
        () => loadConfig({ ...BASE, METRICS_PUSH_MS: bad }),
        (err: unknown) => err instanceof ConfigError && err.setting === 'METRICS_PUSH_MS' && err.message.includes('METRICS_PUSH_MS'),
        bad,
      );
    }
  });
});
