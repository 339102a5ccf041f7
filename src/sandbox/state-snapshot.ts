/**
 * The sandbox state file's top level: a format version and one section per simulated
 * provider, keyed by the provider's name, so providers added later write their own
 * section without changing what the others write:
 *
 *   { "version": 1, "savedAt": "2026-01-01T00:00:08.000Z", "digitalocean": { … } }
 *
 * Only resources and id counters are kept. Faults, rate-limit history and behaviour
 * settings are not: they are test scaffolding or come from the start options.
 */
import type { Clock } from './clock.js';
import { SnapshotFormatError, objectAt } from './snapshot-fields.js';

export const SANDBOX_STATE_VERSION = 1;

export interface SandboxState {
  version: typeof SANDBOX_STATE_VERSION;
  /** When the state was captured, on the sandbox clock; informational only. */
  savedAt: string;
  /** One section per provider, e.g. `digitalocean`. */
  [provider: string]: unknown;
}

/** What a provider simulator offers so its resources survive a restart. */
export interface PersistentProvider {
  readonly provider: string;
  snapshot(): unknown;
  /** Throws SnapshotFormatError, without changing anything, when the section is malformed. */
  restore(section: unknown, path: string): void;
  /** Increases whenever something `snapshot()` returns has changed. */
  revision(): number;
  reset(): void;
}

export function captureSandboxState(providers: readonly PersistentProvider[], clock: Clock): SandboxState {
  const state: SandboxState = { version: SANDBOX_STATE_VERSION, savedAt: new Date(clock.now()).toISOString() };
  for (const p of providers) state[p.provider] = p.snapshot();
  return state;
}

/**
 * Restores every provider from `state`. A provider without a section (the file predates
 * it) starts empty. If any section is malformed every provider is reset and the error is
 * rethrown, so the sandbox never runs with half of a state file.
 */
export function restoreSandboxState(providers: readonly PersistentProvider[], state: unknown): void {
  const raw = objectAt(state, 'state file');
  if (raw.version !== SANDBOX_STATE_VERSION) {
    throw new SnapshotFormatError(
      `unsupported state file version ${JSON.stringify(raw.version)}; this sandbox reads version ${SANDBOX_STATE_VERSION}`,
    );
  }
  try {
    for (const p of providers) {
      const section = raw[p.provider];
      if (section === undefined) p.reset();
      else p.restore(section, p.provider);
    }
  } catch (err) {
    for (const p of providers) p.reset();
    throw err;
  }
}

/** The sum of every provider's revision: it changes whenever any provider's state does. */
export function sandboxRevision(providers: readonly PersistentProvider[]): number {
  return providers.reduce((sum, p) => sum + p.revision(), 0);
}
