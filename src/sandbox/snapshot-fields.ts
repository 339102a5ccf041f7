/**
 * Checked reads of a parsed state file. The file may have been truncated by a crash or
 * edited by hand, so every field is checked and an error names the field, e.g.
 * `digitalocean.droplets[2].status`, instead of a bad value surfacing later as a
 * confusing API response. Shared by every provider's snapshot reader.
 */
export class SnapshotFormatError extends Error {
  override name = 'SnapshotFormatError';
}

function fail(path: string, expected: string, value: unknown): never {
  const shown = value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 80);
  throw new SnapshotFormatError(`${path} must be ${expected}, found ${shown}`);
}

export function objectAt(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'an object', value);
  return value as Record<string, unknown>;
}

export function arrayAt(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) fail(path, 'an array', value);
  return value;
}

/** Ids, counters and epoch milliseconds: all non-negative safe integers. */
export function countAt(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(path, 'a non-negative integer', value);
  }
  return value;
}

export function stringAt(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, 'a string', value);
  return value;
}

export function booleanAt(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, 'true or false', value);
  return value;
}

export function stringsAt(value: unknown, path: string): string[] {
  return arrayAt(value, path).map((item, i) => stringAt(item, `${path}[${i}]`));
}

export function oneOfAt<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(path, `one of ${allowed.join(', ')}`, value);
  }
  return value as T;
}

/** A stored catalogue reference (slug or id) must still name an entry: `entry` is the lookup's result. */
export function knownAt<T>(entry: T | undefined, path: string, ref: string | number): T {
  if (entry === undefined) {
    throw new SnapshotFormatError(`${path} is ${JSON.stringify(ref)}, which the catalogue does not have`);
  }
  return entry;
}
