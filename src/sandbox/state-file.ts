/**
 * Reading and writing the sandbox state file.
 *
 * A write goes to `<file>.tmp`, is flushed to disk and then renamed over the file, so a
 * crash mid-write leaves the previous state rather than half a JSON document. The file
 * describes everything in the simulated accounts, so only its owner may read it (0600).
 */
import { readFileSync, renameSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';

export class StateFileError extends Error {
  override name = 'StateFileError';
}

/** The parsed file, or undefined when there is none yet; throws StateFileError when it cannot be read or parsed. */
export function readStateFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateFileError(`cannot read it: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new StateFileError(`it is not valid JSON: ${(err as Error).message}`);
  }
}

/** The directory must exist: creating it could resurrect one that was deliberately removed. */
export async function writeStateFile(file: string, state: unknown): Promise<void> {
  const json = `${JSON.stringify(state, null, 1)}\n`;
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    // The mode given to open() applies only when it creates the file, not to a leftover .tmp.
    await handle.chmod(0o600);
    await handle.writeFile(json, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}

/**
 * Moves an unreadable state file out of the way so the next save does not overwrite what
 * someone may want to inspect. Returns where it went, or undefined if it could not be moved.
 */
export function setAsideStateFile(file: string): string | undefined {
  const aside = `${file}.unreadable`;
  try {
    renameSync(file, aside);
    return aside;
  } catch {
    return undefined;
  }
}
