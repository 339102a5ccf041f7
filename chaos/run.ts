/**
 * One chaos run: start the system, load it while the disruptions run, stop both, wait for
 * every operation to finish, gather what the engine and the providers hold, check it.
 * Every process is stopped and the run's directory removed, whatever happens.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Operation } from '../src/core/operations/model.js';
import { check, type Findings } from './checks.js';
import { EngineClient, Ledger } from './client.js';
import { allOperations, inventory, operation, waitForQuiescence } from './engine-view.js';
import { Load } from './load.js';
import { Watchdog } from './processes.js';
import { detailLines, failures, summaryLine } from './report.js';
import { SandboxView } from './sandbox-view.js';
import { Chaos } from './scenarios.js';
import { type ChaosSettings, Random } from './settings.js';
import { ChaosSystem, sleep } from './system.js';

export interface ChaosOutcome {
  findings: Findings;
  quiescentSeconds: number;
  summary: string;
  /** Detail lines (findings, then notes) printed before the summary. */
  details: string[];
  failed: boolean;
}

/** Directories of runs in progress, for an interrupted run to remove on its way out. */
const liveDirs = new Set<string>();

/**
 * For a run interrupted by a signal: removes its directory at once. Its processes go with it,
 * killed by the watchdog when this process exits.
 */
export function abandonRuns(): void {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
}

export async function runChaos(settings: ChaosSettings, progress: (line: string) => void): Promise<ChaosOutcome> {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-'));
  if (!settings.keepDir) liveDirs.add(dir);
  const watchdog = await Watchdog.start();
  let system: ChaosSystem | null = null;
  try {
    const started = Date.now();
    const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
    progress(`${settings.profile} run, seed ${settings.seed}: ${settings.operations} operations at ${settings.ratePerSecond}/s, ${settings.workers} workers; logs in ${dir}/logs`);
    system = await ChaosSystem.start(settings, dir, watchdog);
    const client = await EngineClient.login(system.apiUrl, system.adminPassword);
    const sandbox = new SandboxView(system.sandbox);
    progress(`system up after ${elapsed()}: redis :${system.redisPort}, api :${system.apiPort}, sandbox ${system.sandbox.url}`);

    const random = new Random(settings.seed);
    const ledger = new Ledger();
    const load = new Load(client, ledger, settings, random);
    const chaos = new Chaos(system, sandbox, client, settings, random);
    chaos.start();
    await load.issue();
    await chaos.stop();
    writeFileSync(join(system.logDir, 'faults.log'), chaos.faultLog.join('\n') + '\n');
    progress(
      `load done after ${elapsed()}: ${ledger.records.size} requests, ${ledger.acceptedCount} accepted; ` +
        `${system.counts.workerKills} worker kills, ${system.counts.redisKills} Redis kills, ${system.counts.apiKills} API kills, ` +
        `${chaos.counts.faults} fault storms, ${chaos.counts.cancels} cancels`,
    );
    const calm = Date.now();
    await load.drain();
    await fillWorkers(system);
    const quiescent = await waitForQuiescence(client, settings.quiescenceTimeoutMs);
    const quiescentSeconds = Math.round((Date.now() - calm) / 1000);
    progress(quiescent ? `quiescent after ${quiescentSeconds} s` : `not quiescent after ${quiescentSeconds} s`);
    // Transitions the providers were still carrying out, and a sweep or two, settle meanwhile.
    await sleep(3000);

    const operations = new Map<string, Operation>((await allOperations(client)).map((op) => [op.id, op]));
    for (const record of ledger.accepted()) {
      for (const id of record.operationIds) {
        if (operations.has(id)) continue;
        const op = await operation(client, id);
        if (op) operations.set(id, op);
      }
    }
    const [servers, log, inv] = await Promise.all([sandbox.servers(), sandbox.requestLog(), inventory(client)]);
    const findings = check({ ledger, operations, inventory: inv, servers: servers, log: log.entries });
    if (log.dropped > 0) findings.notes.push(`the sandbox's request log dropped ${log.dropped} early entries; the counts from it are incomplete`);
    findings.notes.push(...system.notes);
    const details = [...detailLines(findings), ...findings.notes.map((n) => `  note: ${n}`)];
    const failed = failures(findings) > 0;
    progress(`provider requests: ${await sandbox.requestCounts()}`);
    const retried = [...ledger.records.values()].filter((r) => r.attempts.length > 1).length;
    const undelivered = log.entries.filter((entry) => entry.status !== null && entry.status < 300 && !entry.delivered).length;
    const statuses = new Map<string, number>();
    for (const op of operations.values()) statuses.set(op.status, (statuses.get(op.status) ?? 0) + 1);
    progress(
      `operations: ${[...statuses].map(([status, n]) => `${n} ${status}`).join(', ')}; ${retried} client requests needed more than one attempt; ` +
        `${undelivered} provider mutations took effect without their answer reaching the engine`,
    );
    progress(`checked after ${elapsed()}: ${operations.size} operations, ${inv.length} inventory entries, ${servers.length} provider servers, ${log.entries.length} provider mutations`);
    return { findings, quiescentSeconds, summary: summaryLine(findings, quiescentSeconds), details, failed };
  } finally {
    await system?.stop().catch(() => undefined);
    watchdog.stop();
    liveDirs.delete(dir);
    if (settings.keepDir) progress(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** Every worker killed in the last storm has its replacement; wait until the count is back. */
async function fillWorkers(system: ChaosSystem): Promise<void> {
  const deadline = Date.now() + 30000;
  while ([...system.workers].filter((w) => w.running).length < system.settings.workers && Date.now() < deadline) await sleep(200);
}
