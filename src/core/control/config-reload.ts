import { ConfigError, loadConfig, type Config } from '../config.js';
import type { ConfigSource } from './config-source.js';
import { applySettings, isReloadable } from './reloadable-settings.js';

type Env = Record<string, string | undefined>;

export interface ReloadOutcome {
  /** Settings whose value changed and that are now in force, by name (never a value: some are secrets). */
  changed: string[];
  /** Settings whose value changed but that are read only at start: in force after a restart. */
  needsRestart: string[];
}

/** A setting's value as loadConfig reads it: blank is the same as unset. */
function normalized(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function changedSettings(before: Env, after: Env): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((name) => normalized(before[name]) !== normalized(after[name])).sort();
}

/**
 * Reads a process's settings again (POST /reload-config, or its announcement to the workers)
 * and applies the reloadable ones to the live configuration: the same object every part of the
 * process holds, so what reads it on every use follows at once. `onApplied` is for what was
 * built from the settings once (the logger's level, the API's request limiters).
 *
 * A configuration loadConfig refuses changes nothing: the ConfigError names the setting.
 */
export class ConfigReloader {
  /** The settings in force: what the live configuration was loaded from, plus the changes applied since. */
  private inForce: Env;

  constructor(
    private readonly source: ConfigSource,
    private readonly live: Config,
    private readonly onApplied: (live: Config, changed: readonly string[]) => void = () => undefined,
  ) {
    this.inForce = source.read();
  }

  get file(): string {
    return this.source.file;
  }

  /** Throws ConfigError (nothing applied) when the settings as they are now do not load. */
  reload(): ReloadOutcome {
    const env = this.source.read();
    const next = loadConfig(env);
    const differing = changedSettings(this.inForce, env);
    const changed = differing.filter(isReloadable);
    const needsRestart = differing.filter((name) => !isReloadable(name));
    applySettings(this.live, next, changed);
    // What needs a restart is not in force: it stays as it was, and the next reload reports it again.
    const kept = Object.fromEntries(needsRestart.map((name) => [name, this.inForce[name]]));
    this.inForce = { ...env, ...kept };
    for (const name of needsRestart) if (kept[name] === undefined) delete this.inForce[name];
    if (changed.length > 0) this.onApplied(this.live, changed);
    return { changed, needsRestart };
  }
}

export { ConfigError };
