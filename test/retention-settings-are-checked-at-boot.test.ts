import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/core/config.js';

/** loadConfig refuses `env` with a ConfigError naming `setting` and matching `problem`. */
function refused(env: Record<string, string>, setting: string, problem: RegExp): void {
  assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && err.setting === setting && problem.test(err.message));
}

const DAY = 86_400_000;

describe('the retention settings are checked at boot', () => {
  test('defaults: finished operations and events kept 30 days, no archive, a run every 5 minutes on the real clock', () => {
    assert.deepEqual(loadConfig({}).retention, { operationsMs: 30 * DAY, eventsMs: 30 * DAY, archive: false, intervalMs: 300_000, clockOffsetMs: 0 });
  });

  test('durations in s, m, h and d; off keeps everything; EVENTS_RETENTION may be shorter', () => {
    assert.equal(loadConfig({ OPERATION_RETENTION: '12h' }).retention.operationsMs, 12 * 3_600_000);
    assert.equal(loadConfig({ OPERATION_RETENTION: '90m' }).retention.operationsMs, 90 * 60_000);
    assert.equal(loadConfig({ OPERATION_RETENTION: '45s' }).retention.operationsMs, 45_000);
    assert.deepEqual(loadConfig({ OPERATION_RETENTION: 'off' }).retention.operationsMs, null);
    assert.deepEqual(loadConfig({ OPERATION_RETENTION: 'off' }).retention.eventsMs, null);
    assert.equal(loadConfig({ OPERATION_RETENTION: 'off', EVENTS_RETENTION: '7d' }).retention.eventsMs, 7 * DAY);
    assert.equal(loadConfig({ EVENTS_RETENTION: '7d' }).retention.eventsMs, 7 * DAY);
    const drill = loadConfig({ OPERATION_ARCHIVE: 'on', RETENTION_CLOCK_OFFSET_MS: String(31 * DAY), RETENTION_INTERVAL_MS: '1000' }).retention;
    assert.deepEqual([drill.archive, drill.clockOffsetMs, drill.intervalMs], [true, 31 * DAY, 1000]);
  });

  test('a bad setting names itself and the problem', () => {
    refused({ OPERATION_RETENTION: '30 days' }, 'OPERATION_RETENTION', /duration such as 30d/);
    refused({ OPERATION_RETENTION: '0d' }, 'OPERATION_RETENTION', /between 1s and 3650d/);
    refused({ OPERATION_RETENTION: '-1d' }, 'OPERATION_RETENTION', /duration/);
    refused({ EVENTS_RETENTION: 'week' }, 'EVENTS_RETENTION', /duration/);
    refused({ OPERATION_RETENTION: '1d', EVENTS_RETENTION: '2d' }, 'EVENTS_RETENTION', /not be longer than OPERATION_RETENTION/);
    refused({ OPERATION_ARCHIVE: 'maybe' }, 'OPERATION_ARCHIVE', /true or false/);
    refused({ RETENTION_INTERVAL_MS: '10' }, 'RETENTION_INTERVAL_MS', /between/);
    refused({ RETENTION_CLOCK_OFFSET_MS: '-5' }, 'RETENTION_CLOCK_OFFSET_MS', /whole number/);
  });
});
