import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { archiveDirectory, type ArchivedOperation } from '../src/core/retention/archive.js';
import { runRetention } from '../src/core/retention/run.js';
import type { Operation } from '../src/core/operations/model.js';
import { stepOperationId } from '../src/core/workflows/model.js';
import { PROVIDER_REQUESTS } from './helpers/provider-requests.js';
import { TestSystem } from './helpers/system.js';

const DAY = 86_400_000;
const hetzner = PROVIDER_REQUESTS.hetzner;

function readArchive(dir: string): ArchivedOperation[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^operations-\d{4}-\d{2}-\d{2}\.ndjson\.gz$/.test(f))
    .flatMap((f) =>
      gunzipSync(readFileSync(join(dir, f)))
        .toString()
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as ArchivedOperation),
    );
}

describe('with OPERATION_ARCHIVE on, removed operations are first appended to the archive', () => {
  let sys: TestSystem;
  let dataDir: string;
  let archive: string;
  const made: Operation[] = [];
  let stepId: string;

  const submit = async (hostname: string): Promise<string> => {
    const res = await sys.request('POST', '/v1/servers/create', { body: { workspace: 'production', provider: 'hetzner', plan: hetzner.plan, zone: hetzner.zone, hostname } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.id as string;
  };
  const create = async (hostname: string) => {
    const done = await sys.waitForStatus(await submit(hostname), ['completed', 'failed'], 30_000);
    assert.equal(done.status, 'completed');
    return done;
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'pe-retention-'));
    archive = archiveDirectory(dataDir);
    sys = await TestSystem.start({ workers: 1, env: { DATA_DIR: dataDir, OPERATION_ARCHIVE: 'on', OPERATION_RETENTION: '30d', RETENTION_INTERVAL_MS: '86400000' } });
    made.push(await create('arch-01'), await create('arch-02'));
    const wf = await sys.request('POST', '/v1/workflows/submit', {
      body: { workspace: 'production', workflow_type: 'custom', parameters: { steps: [{ id: 'node', type: 'server.create', parameters: { provider: 'hetzner', plan: hetzner.plan, zone: hetzner.zone, hostname: 'arch-wf-01' } }] } },
    });
    assert.equal(wf.status, 202, JSON.stringify(wf.body));
    made.push(await sys.waitForStatus(wf.body.id, ['completed', 'failed'], 40_000));
    assert.equal(made[2]!.status, 'completed');
    stepId = stepOperationId(wf.body.id, 'node');
  });

  after(async () => {
    await sys?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('when the archive cannot be written, nothing is removed', async () => {
    // A file where the archive directory should be: the write fails before any removal.
    writeFileSync(archive, 'not a directory');
    try {
      await assert.rejects(runRetention(sys.api.ctx, { now: Date.now() + 31 * DAY }));
    } finally {
      rmSync(archive);
    }
    for (const op of [...made.map((o) => o.id), stepId]) assert.equal((await sys.request('GET', `/v1/operations/${op}`)).status, 200, op);
  });

  test('a worker whose retention clock is 31 days ahead archives, then removes; the archive holds each removed operation once, across runs', async () => {
    // The worker that runs retention from now on reads a clock 31 days ahead and runs it often.
    await Promise.all(sys.workers.map((w) => w.kill('SIGTERM')));
    sys.env.RETENTION_CLOCK_OFFSET_MS = String(31 * DAY);
    sys.env.RETENTION_INTERVAL_MS = '300';
    await sys.startWorker();

    const expected = [...made.map((o) => o.id), stepId].sort();
    await sys.eventually(async () => {
      for (const id of expected) if ((await sys.request('GET', `/v1/operations/${id}`)).status !== 404) return undefined;
      return true;
    }, 'the finished operations to be removed');
    const first = readArchive(archive);
    assert.deepEqual(first.map((l) => l.operation.id).sort(), expected);
    const one = first.find((l) => l.operation.id === made[0]!.id)!;
    assert.equal(one.operation.status, 'completed');
    assert.deepEqual(one.operation.result, made[0]!.result);
    assert.equal(one.events[0]?.to, 'pending', 'its events start with its creation');
    assert.ok(one.events.some((e) => e.to === 'completed'), JSON.stringify(one.events));
    assert.ok(one.logs.length > 0, 'its log lines');
    const workflowLine = first.find((l) => l.operation.id === made[2]!.id)!;
    assert.equal(workflowLine.operation.type, 'workflow.custom');

    // A later operation goes in a later run: appended as another gzip member, nothing archived twice.
    // Retention now runs every 300 ms on a clock a month ahead, so the operation may be gone
    // before a poll sees it completed: its archived line says how it ended.
    const later = await submit('arch-03');
    await sys.eventually(async () => ((await sys.request('GET', `/v1/operations/${later}`)).status === 404 ? true : undefined), 'the later operation to finish and be removed', 40_000);
    const second = readArchive(archive);
    assert.deepEqual(second.map((l) => l.operation.id).sort(), [...expected, later].sort());
    assert.equal(second.find((l) => l.operation.id === later)!.operation.status, 'completed');
    const files = readdirSync(archive);
    // Named for the day the (moved) clock removed them (either side of a midnight the test ran across).
    const days = [Date.now() - 60_000, Date.now()].map((t) => `operations-${new Date(t + 31 * DAY).toISOString().slice(0, 10)}.ndjson.gz`);
    assert.equal(files.length, 1, files.join(', '));
    assert.ok(days.includes(files[0]!), `${files[0]} is not one of ${days.join(', ')}`);
    // zcat reads the appended members as one stream, as the README says.
    const zcat = spawnSync('zcat', [join(archive, files[0]!)]);
    if (zcat.error === undefined) {
      assert.equal(zcat.status, 0, zcat.stderr.toString());
      assert.equal(zcat.stdout.toString().trim().split('\n').length, second.length);
    }
  });
});
