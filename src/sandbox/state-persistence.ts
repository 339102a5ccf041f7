/**
 * Keeps a sandbox's resources in a state file across restarts: restores them at start,
 * saves them every `saveIntervalMs` when something has changed (so a killed process loses
 * at most that much), and saves once more when the sandbox stops.
 */
import type { Clock } from './clock.js';
import { readStateFile, setAsideStateFile, writeStateFile } from './state-file.js';
import { type PersistentProvider, captureSandboxState, restoreSandboxState, sandboxRevision } from './state-snapshot.js';

export const DEFAULT_STATE_SAVE_INTERVAL_MS = 2000;

export interface StatePersistenceOptions {
  file: string;
  providers: readonly PersistentProvider[];
  clock: Clock;
  saveIntervalMs: number;
  /** Where problems with the state file are reported. */
  warn: (message: string) => void;
}

export class SandboxStatePersistence {
  private timer: NodeJS.Timeout | undefined;
  /** The revision the file holds; undefined until the file is known to match memory. */
  private savedRevision: number | undefined;
  /** Writes run one after another: two at once would share `<file>.tmp`. */
  private queue: Promise<void> = Promise.resolve();
  private writing = false;
  private lastSaveFailure: string | undefined;

  constructor(private readonly options: StatePersistenceOptions) {}

  /**
   * Restores the providers from the file. A missing file is a first start. A file that
   * cannot be read or restored is reported, moved aside and the sandbox starts empty:
   * refusing to start would take the whole system down over simulator state.
   */
  load(): void {
    const { file, providers, warn } = this.options;
    try {
      const state = readStateFile(file);
      if (state === undefined) return;
      restoreSandboxState(providers, state);
      this.savedRevision = sandboxRevision(providers);
    } catch (err) {
      const movedTo = setAsideStateFile(file);
      warn(
        `state file ${file} could not be loaded (${(err as Error).message}); starting with no simulated resources` +
          (movedTo === undefined ? '' : `; the unreadable file was moved to ${movedTo}`),
      );
    }
  }

  startPeriodicSaves(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.saveIfChanged(), this.options.saveIntervalMs);
    // Saving alone is no reason to keep a process alive.
    this.timer.unref();
  }

  /** Stops periodic saves and writes the final state; rejects if that write fails. */
  stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    return this.save();
  }

  /** Writes the current state, after any write already in progress. */
  save(): Promise<void> {
    const run = this.queue.then(() => this.write());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(): Promise<void> {
    this.writing = true;
    try {
      // Captured synchronously, so a change made while the file is written counts as unsaved.
      const revision = sandboxRevision(this.options.providers);
      await writeStateFile(this.options.file, captureSandboxState(this.options.providers, this.options.clock));
      this.savedRevision = revision;
    } finally {
      this.writing = false;
    }
  }

  private saveIfChanged(): void {
    // A slow disk must not queue up writes; the next tick catches whatever changed meanwhile.
    if (this.writing) return;
    if (sandboxRevision(this.options.providers) === this.savedRevision) return;
    this.save().then(
      () => {
        if (this.lastSaveFailure !== undefined) this.options.warn(`state file ${this.options.file} is being saved again`);
        this.lastSaveFailure = undefined;
      },
      (err: unknown) => {
        const message = (err as Error).message;
        // Reported once per distinct failure, not on every tick while the disk stays full.
        if (message !== this.lastSaveFailure) {
          this.options.warn(`could not save state file ${this.options.file}: ${message}; will retry`);
        }
        this.lastSaveFailure = message;
      },
    );
  }
}
