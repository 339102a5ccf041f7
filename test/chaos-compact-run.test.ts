import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { check, type Evidence } from '../chaos/checks.js';
import { Ledger, type KeyRecord } from '../chaos/client.js';
import { SUMMARY_PATTERN, summaryLine } from '../chaos/report.js';
import type { SandboxServer } from '../chaos/sandbox-view.js';
import type { Operation } from '../src/core/operations/model.js';
import type { ServerRecord } from '../src/core/servers/inventory.js';
import type { RequestLogEntry } from '../src/sandbox/request-counts.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

describe('the compact chaos run', () => {
  test('every scenario runs, and nothing is lost, duplicated, repeated, mismatched or stuck', { timeout: 240_000 }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'chaos/main.ts', '--compact'], {
      cwd: ROOT,
      env: { ...process.env, CHAOS_OPERATIONS: '', CHAOS_KEEP: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    const output = `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;

    const summaries = stdout.split('\n').filter((line) => line.startsWith('chaos: '));
    assert.equal(summaries.length, 1, `exactly one summary line\n${output}`);
    const match = SUMMARY_PATTERN.exec(summaries[0]!);
    assert.ok(match, `the summary line has the expected shape\n${output}`);
    const [accepted, lost, duplicateServers, repeatedActions, duplicateOperations, mismatches, stuck] = match.slice(1, 8).map(Number);
    assert.ok(accepted! >= 200, `a few hundred operations were accepted\n${output}`);

    // Every disruption happened at least once.
    const done = /(\d+) worker kills, (\d+) Redis kills, (\d+) API kills, (\d+) fault storms, (\d+) cancels/.exec(stderr);
    assert.ok(done, output);
    for (const [i, what] of ['worker kills', 'Redis kills', 'API kills', 'fault storms', 'cancels'].entries()) {
      assert.ok(Number(done[i + 1]) > 0, `some ${what}\n${output}`);
    }

    assert.deepEqual(
      { lost, duplicateServers, repeatedActions, duplicateOperations, mismatches, stuck },
      { lost: 0, duplicateServers: 0, repeatedActions: 0, duplicateOperations: 0, mismatches: 0, stuck: 0 },
      output,
    );
    assert.equal(code, 0, output);
  });
});

describe('the chaos checks count what went wrong (and only that)', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const iso = (s: number) => new Date(t0 + s * 1000).toISOString();

  function op(id: string, fields: Partial<Operation>): Operation {
    return {
      id, type: 'server.create', status: 'completed', workspace: 'chaos', provider: 'hetzner', target: null, request: {}, progress: null,
      attempt: 1, result: null, error: null, parent_id: null, trace_id: `trace-${id}`, requested_by: 'admin', cancel_requested_at: null,
      cancel_requested_by: null, retry_of: null, retried_by: null, created_at: iso(0), updated_at: iso(10), started_at: iso(1), finished_at: iso(10), ...fields,
    };
  }
  function key(id: string, opIds: string[], final: number | null = 202): KeyRecord {
    return { key: `key-${id}`, requestId: `trace-${id}`, kind: 'create', method: 'POST', path: '/v1/servers/create', body: {}, attempts: [final ?? 0], operationIds: new Set(opIds), final, finalBody: null };
  }
  function entry(seq: number, at: number, method: string, path: string, body: unknown, status = 201): RequestLogEntry {
    return { seq, provider: path.startsWith('/hetzner') ? 'hetzner' : 'digitalocean', method, path, query: '', at: t0 + at * 1000, status, delivered: true, body };
  }
  function server(providerId: string, marker: string, status = 'running'): SandboxServer {
    return { provider: 'hetzner', providerId, name: `s${providerId}`, status, statusClass: status === 'running' ? 'on' : 'off', markers: [marker] };
  }
  function record(id: string, providerId: string, status = 'running'): ServerRecord {
    return {
      id, hostname: id, provider: 'hetzner', provider_id: providerId, plan: 'cx23', zone: 'fsn1', image: null, ip_address: null, status: status as ServerRecord['status'],
      provider_status: null, tags: [], workspace: 'chaos', operation_id: 'c1', created_at: iso(0), updated_at: iso(0),
    };
  }

  /** A clean run: one create, one reboot of its server, everything where it should be. */
  function clean(): Evidence {
    const ledger = new Ledger();
    ledger.add(key('c1', ['c1']));
    ledger.add({ ...key('r1', ['r1']), kind: 'action.reboot' });
    ledger.add(key('bad', [], 400));
    return {
      ledger,
      operations: new Map([
        ['c1', op('c1', {})],
        ['r1', op('r1', { type: 'server.action', request: { action: 'reboot' }, target: { provider_id: '7', server_id: 'srv-1' }, started_at: iso(20), finished_at: iso(30) })],
      ]),
      inventory: [record('srv-1', '7')],
      servers: [server('7', 'c1')],
      log: [
        entry(1, 2, 'POST', '/hetzner/v1/servers', { labels: { 'pe-op': 'c1' } }),
        entry(2, 21, 'POST', '/hetzner/v1/servers/7/actions/reboot', null),
        // A refused request did nothing.
        entry(3, 22, 'POST', '/hetzner/v1/servers/7/actions/reboot', null, 503),
      ],
    };
  }

  test('a clean run counts nothing', () => {
    const f = check(clean());
    assert.equal(summaryLine(f, 3), 'chaos: 2 accepted, 0 lost, 0 duplicate servers, 0 repeated actions, 0 duplicate operations, 0 inventory mismatches, 0 stuck; quiescent in 3 s');
    assert.match(summaryLine(f, 3), SUMMARY_PATTERN);
  });

  test('each kind of failure is counted', () => {
    const e = clean();
    // Lost: accepted, unknown to the engine. Stuck and lost: accepted, still running.
    e.ledger.add(key('gone', ['gone']));
    e.ledger.add(key('run', ['run']));
    e.operations.set('run', op('run', { status: 'running', finished_at: null, started_at: null }));
    // A second operation under one key (the retry after a lost answer).
    e.operations.set('c1-again', op('c1-again', { trace_id: 'trace-c1', status: 'cancelled' }));
    // A second server for c1, deleted since: only the request log remembers it.
    e.log.push(entry(4, 3, 'POST', '/hetzner/v1/servers', { labels: { 'pe-op': 'c1' } }));
    // A second reboot during r1, and one long after.
    e.log.push(entry(5, 25, 'POST', '/hetzner/v1/servers/7/actions/reboot', null), entry(6, 100, 'POST', '/hetzner/v1/servers/7/actions/poweroff', null));
    // Inventory: a server the provider does not have, and one the inventory does not have.
    e.inventory.push(record('srv-2', '8'));
    e.servers.push(server('9', 'c1-again', 'off'));
    const f = check(e);
    assert.deepEqual(
      [f.lost.count, f.duplicateServers.count, f.repeatedActions.count, f.duplicateOperations.count, f.inventoryMismatches.count, f.stuck.count],
      [2, 1, 2, 1, 2, 1],
      JSON.stringify(f, null, 2),
    );
  });

  test('overlapping operations on one server may each send their action', () => {
    const e = clean();
    e.operations.set('r2', op('r2', { type: 'server.action', request: { action: 'reboot' }, target: { provider_id: '7' }, started_at: iso(25), finished_at: iso(40) }));
    e.log.push(entry(4, 35, 'POST', '/hetzner/v1/servers/7/actions/reboot', null));
    assert.equal(check(e).repeatedActions.count, 0);
    e.log.push(entry(5, 36, 'POST', '/hetzner/v1/servers/7/actions/reboot', null));
    assert.equal(check(e).repeatedActions.count, 1);
  });
});
