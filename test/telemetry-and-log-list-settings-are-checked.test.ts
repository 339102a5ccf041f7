import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/core/config.js';
import { jobTraceContext, startTelemetry, telemetryRunning } from '../src/core/telemetry.js';

describe('the tracing and log-list settings', () => {
  test('defaults: no tracing, a log list of 1000', () => {
    const config = loadConfig({});
    assert.equal(config.telemetry, null);
    assert.equal(config.udcLogEntries, 1000);
  });

  test('an OTLP endpoint turns tracing on; the traces endpoint wins and is taken as given', () => {
    assert.deepEqual(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).telemetry, { tracesUrl: 'http://collector:4318/v1/traces', serviceName: null });
    assert.deepEqual(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp', OTEL_SERVICE_NAME: 'pe-eu' }).telemetry,
      { tracesUrl: 'https://traces.example/otlp', serviceName: 'pe-eu' },
    );
  });

  test('bad values stop the process naming the setting', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT'],
      [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'redis://localhost:6379' }, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SERVICE_NAME: 'x'.repeat(200) }, 'OTEL_SERVICE_NAME'],
      [{ UDC_LOG_ENTRIES: '5' }, 'UDC_LOG_ENTRIES'],
      [{ UDC_LOG_ENTRIES: 'lots' }, 'UDC_LOG_ENTRIES'],
      [{ UDC_LOG_ENTRIES: '1000000' }, 'UDC_LOG_ENTRIES'],
    ];
    for (const [env, name] of cases) {
      assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && err.message.includes(name), `${JSON.stringify(env).slice(0, 80)} names ${name}`);
    }
  });

  test('without an endpoint, tracing does not start and jobs carry no trace context', async () => {
    assert.equal(await startTelemetry(null, 'worker'), false);
    assert.equal(telemetryRunning(), false);
    assert.deepEqual(jobTraceContext(), {});
  });
});
