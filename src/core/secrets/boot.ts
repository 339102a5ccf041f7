import { ConfigError, type Config } from '../config.js';
import type { SecretBox } from './secret-box.js';
import { secretBox } from './secret-key.js';

/** Stops the process as a bad setting does (exit 78, one line naming it) when `err` is about the configuration. */
function stopOnConfigError(processName: string, err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${processName}: ${err.message}\n`);
    process.exit(78);
  }
  throw err;
}

/** The secret box of an entry point: loaded (or made) at its start; a bad key stops it naming the setting. */
export function bootSecretBox(config: Config, processName: string): SecretBox {
  try {
    return secretBox(config);
  } catch (err) {
    stopOnConfigError(processName, err);
  }
}

/**
 * Awaits a start-up step of an entry point; a stored secret that does not open under the
 * configured key (SecretKeyMismatchError, a ConfigError) stops the process naming the setting.
 */
export async function orStopOnConfigError<T>(processName: string, step: Promise<T>): Promise<T> {
  try {
    return await step;
  } catch (err) {
    stopOnConfigError(processName, err);
  }
}
