import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'dotenv';

type Env = Record<string, string | undefined>;

/**
 * Where a process's settings come from: the environment it was started with, and the settings
 * file (CONFIG_FILE, default `./.env`) under it. Reading it again gives what a restart would read.
 */
export interface ConfigSource {
  /** The settings file (absolute), whether or not it exists. */
  readonly file: string;
  /** The settings as they are now: the file's, with the start environment winning over them (as at boot). */
  read(): Env;
}

/** The source of a process started by an entry point: its start environment and its settings file. */
export function fileConfigSource(startEnv: Env, file: string): ConfigSource {
  return {
    file,
    read: () => {
      // Read whole at once: a file being rewritten is either the old or the new one, never half.
      const fromFile = existsSync(file) ? parse(readFileSync(file)) : {};
      return { ...fromFile, ...startEnv };
    },
  };
}

/** A source that never changes (an API started in a test from a fixed set of settings). */
export function fixedConfigSource(env: Env, file = ''): ConfigSource {
  const copy = { ...env };
  return { file, read: () => ({ ...copy }) };
}
