import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { processesWithDataDir, startInstance, type EngineInstance } from './helpers/engine-instance.js';
import { http } from './helpers/http.js';
import { TestSystem } from './helpers/system.js';

const METRICS_SECRET = 'metrics-secret-value-0123456789';

/** The JSON log lines of one process of the instance (`api`, `worker-1`) that carry `message`. */
function lines(instance: EngineInstance, service: string, message: string): Array<Record<string, unknown>> {
  return instance
    .output()
    .split('\n')
    .flatMap((l) => {
      try {
        const entry = JSON.parse(l) as Record<string, unknown>;
        return entry.service === service && entry.message === message ? [entry] : [];
      } catch {
        return [];
      }
    });
}

describe('POST /reload-config applies what can change live and refuses a bad configuration', () => {
  let sys: TestSystem | undefined;
  let instance: EngineInstance | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'pe-reload-'));
  after(async () => {
    await instance?.stop();
    await sys?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a changed settings file is read again: LOG_LEVEL and RATE_LIMIT_API applied in the API and the worker, others reported, an invalid one refused with the old kept', async () => {
    sys = await TestSystem.start({ workers: 0, doActiveDelayMs: 1500 });
    const file = join(dir, 'engine.env');
    writeFileSync(file, 'LOG_LEVEL=info\nRATE_LIMIT_API=1000000/1s\n');
    // The settings file gives these two: the environment, which would win over it, does not.
    instance = await startInstance(sys, { CONFIG_FILE: file }, { unset: ['LOG_LEVEL', 'RATE_LIMIT_API'] });
    const inst = instance;
    const reload = (body: unknown = {}) => http(inst.url, 'POST', '/reload-config', { token: sys!.token, body });
    const limitNow = async () => (await http(inst.url, 'GET', '/version', { token: sys!.token })).headers.get('ratelimit-limit');

    const same = await reload();
    assert.equal(same.status, 200, JSON.stringify(same.body));
    assert.equal(same.body.status, 'reloaded');
    assert.equal(same.body.reloaded, true);
    assert.deepEqual([same.body.changed, same.body.needs_restart], [[], []]);
    assert.equal(same.body.config_path, file);
    // The instance's worker, and the test's own API (another replica over the same Redis).
    assert.equal(same.body.processes_told, 2);
    assert.equal(same.body.trace_id, same.headers.get('x-trace-id'));
    assert.equal(await limitNow(), '1000000');

    // At info the worker writes no watcher rounds (they are debug lines).
    const before = await sys.createServer({ hostname: 'at-info' });
    assert.equal((await sys.waitForStatus(before.id, ['completed'], 20000)).status, 'completed');
    assert.equal(lines(inst, 'worker-1', 'watcher round').length, 0);

    writeFileSync(file, `LOG_LEVEL=debug\nRATE_LIMIT_API=500/1m\nCATALOG_TTL_SECONDS=120\nMETRICS_TOKEN=${METRICS_SECRET}\n`);
    const changed = await reload({ config_path: file });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.deepEqual(changed.body.changed, ['LOG_LEVEL', 'METRICS_TOKEN', 'RATE_LIMIT_API']);
    assert.deepEqual(changed.body.needs_restart, ['CATALOG_TTL_SECONDS']);
    assert.equal(await limitNow(), '500', 'the API counts against the new limit');
    const scrape = await http(inst.url, 'GET', '/metrics', { token: METRICS_SECRET });
    assert.equal(scrape.status, 200, 'the new metrics token is in force without a restart');
    await sys.eventually(async () => (lines(inst, 'worker-1', 'configuration reloaded').length === 2 ? true : undefined), 'the worker to reload', 5000);
    const told = lines(inst, 'worker-1', 'configuration reloaded')[1]!;
    assert.deepEqual([told.changed, told.needs_restart], [['LOG_LEVEL', 'METRICS_TOKEN', 'RATE_LIMIT_API'], ['CATALOG_TTL_SECONDS']]);
    // The worker now writes debug lines: its account watcher's rounds while a create waits.
    const atDebug = await sys.createServer({ hostname: 'at-debug' });
    assert.equal((await sys.waitForStatus(atDebug.id, ['completed'], 20000)).status, 'completed');
    assert.ok(lines(inst, 'worker-1', 'watcher round').length > 0, 'the worker logs at debug');
    // A changed secret is named, never shown.
    assert.ok(!JSON.stringify(changed.body).includes(METRICS_SECRET));
    assert.ok(!inst.output().includes(METRICS_SECRET), 'no log line holds the secret');

    // Invalid: refused, naming the setting; what is in force stays.
    writeFileSync(file, 'LOG_LEVEL=debug\nRATE_LIMIT_API=lots\n');
    const refused = await reload();
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(refused.body.detail.length, 1);
    assert.deepEqual(refused.body.detail[0].loc, ['config', 'RATE_LIMIT_API']);
    assert.equal(refused.body.detail[0].type, 'value_error');
    assert.match(refused.body.detail[0].msg, /must be 'off' or requests per window/);
    assert.equal(await limitNow(), '500', 'the limit in force stays');
    writeFileSync(file, 'LOG_LEVEL=loud\nRATE_LIMIT_API=500/1m\n');
    const badLevel = await reload();
    assert.equal(badLevel.status, 422);
    assert.deepEqual(badLevel.body.detail[0].loc, ['config', 'LOG_LEVEL']);
    assert.match(badLevel.body.detail[0].msg, /must be one of error, warn, info/);

    // Only the instance's own settings file is read.
    const elsewhere = await reload({ config_path: '/etc/passwd' });
    assert.equal(elsewhere.status, 422);
    assert.deepEqual(elsewhere.body.detail[0].loc, ['body', 'config_path']);
    assert.ok(!JSON.stringify(elsewhere.body).includes('root:'), 'nothing of that file is answered');

    // Down to warn: the API applies it before it would log the reload at info, so that line is not written.
    writeFileSync(file, `LOG_LEVEL=warn\nRATE_LIMIT_API=500/1m\nCATALOG_TTL_SECONDS=120\nMETRICS_TOKEN=${METRICS_SECRET}\n`);
    const apiReloadLines = lines(inst, 'api', 'configuration reloaded').length;
    const quiet = await reload();
    assert.equal(quiet.status, 200, JSON.stringify(quiet.body));
    assert.deepEqual(quiet.body.changed, ['LOG_LEVEL']);
    assert.deepEqual(quiet.body.needs_restart, ['CATALOG_TTL_SECONDS'], 'still not in force until a restart');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(lines(inst, 'api', 'configuration reloaded').length, apiReloadLines, 'the API logs at warn now');

    inst.child.kill('SIGTERM');
    assert.equal(await inst.exited, 0);
    await sys.eventually(async () => (processesWithDataDir(inst.dataDir).length === 0 ? true : undefined), 'no process of the instance left', 5000);
  });
});
