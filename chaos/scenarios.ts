/**
 * The disruptions, each its own loop running beside the load until it stops:
 *
 * - worker storm: now and then, for a few seconds, SIGKILL a random worker about every
 *   second and start a replacement at once;
 * - Redis: SIGKILL redis-server, pause, start it again on the same port and AOF;
 * - API: SIGKILL the API, pause, start it again on the same port (clients keep retrying);
 * - provider faults: for a few seconds one provider answers 5xx, 429, hangs, takes effect
 *   but answers too late, or is slow (provider-faults.ts);
 * - cancels: cancel a few random pending or running operations (and sometimes workflows).
 */
import type { EngineClient } from './client.js';
import { FaultDeck } from './provider-faults.js';
import type { SandboxView } from './sandbox-view.js';
import type { ChaosSettings, Random } from './settings.js';
import type { ChaosSystem } from './system.js';

export class Chaos {
  readonly counts = { faults: 0, cancels: 0 };
  /** One line per fault storm, for the log of the run. */
  readonly faultLog: string[] = [];
  private stopped = false;
  /** Wakes every pause in progress. */
  private readonly wake = new Set<() => void>();
  private loops: Array<Promise<void>> = [];
  /** Fault storms in progress. */
  private readonly detached = new Set<Promise<void>>();
  private readonly faults: FaultDeck;

  constructor(
    private readonly system: ChaosSystem,
    private readonly sandbox: SandboxView,
    private readonly client: EngineClient,
    private readonly settings: ChaosSettings,
    private readonly random: Random,
  ) {
    this.faults = new FaultDeck(random, settings);
  }

  start(): void {
    const s = this.settings;
    this.loops = [
      this.every(s.workerStorm.everyMs, () => this.workerStorm()),
      this.every(s.redisKill.everyMs, () => this.system.killRedis(s.redisKill.downMs)),
      this.every(s.apiKill.everyMs, () => this.system.killApi(this.random.jitter(s.apiKill.downMs))),
      // A storm holds its rule while the next one may begin: they overlap now and then.
      this.every(s.providerFaults.everyMs, async () => void this.track(this.faultStorm())),
      this.every(s.cancels.everyMs, () => this.cancelSome()),
    ];
  }

  /** Ends every loop (a kill in progress finishes: its process is started again) and removes every fault rule. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of [...this.wake]) wake();
    await Promise.all(this.loops);
    await Promise.all(this.detached);
    await this.sandbox.clearFaults();
  }

  private track(task: Promise<void>): void {
    const tracked = task.catch((err: Error) => {
      this.system.notes.push(`a chaos step failed: ${err.message}`);
    });
    this.detached.add(tracked);
    void tracked.finally(() => this.detached.delete(tracked));
  }

  /** Sleeps `ms`, or less if the chaos stops meanwhile; false once it has stopped. */
  private pause(ms: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake.delete(done);
        resolve(!this.stopped);
      };
      const timer = setTimeout(done, ms);
      this.wake.add(done);
    });
  }

  private async every(meanMs: number, act: () => Promise<void>): Promise<void> {
    if (!(await this.pause(this.settings.warmupMs + this.random.jitter(meanMs) / 2))) return;
    do {
      try {
        await act();
      } catch (err) {
        this.system.notes.push(`a chaos step failed: ${(err as Error).message}`);
      }
    } while (await this.pause(this.random.jitter(meanMs)));
  }

  private async workerStorm(): Promise<void> {
    const { stormMs, killEveryMs } = this.settings.workerStorm;
    const end = Date.now() + stormMs;
    do {
      await this.system.killWorker((items) => this.random.pick(items));
    } while (Date.now() < end && (await this.pause(this.random.jitter(killEveryMs))));
  }

  private async faultStorm(): Promise<void> {
    const { rule, description, holdMs } = this.faults.next();
    const id = await this.sandbox.addFault(rule);
    this.counts.faults++;
    this.faultLog.push(`${new Date().toISOString()} ${description}`);
    // A count-limited rule goes as soon as it is used up.
    const end = Date.now() + holdMs;
    while (Date.now() < end && (await this.pause(Math.min(500, end - Date.now())))) {
      if (rule.count !== undefined && (await this.sandbox.faultRemaining(id)) === 0) break;
    }
    await this.sandbox.removeFault(id);
  }

  private async cancelSome(): Promise<void> {
    const listed = await Promise.all(
      ['pending', 'running'].map((status) => this.client.call('GET', `/v1/operations?status=${status}&limit=100`).then((r) => (r.status === 200 ? (r.body as Array<{ id: string; type: string }>) : []), () => [])),
    );
    const candidates = listed.flat();
    for (let i = 0; i < this.settings.cancels.batch && candidates.length > 0; i++) {
      const op = candidates.splice(this.random.int(0, candidates.length - 1), 1)[0]!;
      const path = op.type.startsWith('workflow.') ? `/v1/workflows/${op.id}/cancel` : `/v1/operations/${op.id}/cancel`;
      // Sent once: a cancel that does not arrive is just one fewer.
      await this.client.call('POST', path).catch(() => null);
      this.counts.cancels++;
    }
  }
}
