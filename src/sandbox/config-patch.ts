/**
 * What every simulator's run-time configuration (`POST /_sandbox/<provider>/config`) checks
 * the same way, and the body-parser errors every simulator answers in its provider's shape.
 */

export function isBodyParserError(err: unknown, type: string): boolean {
  return typeof err === 'object' && err !== null && (err as { type?: unknown }).type === type;
}

/**
 * A config patch: a JSON object whose fields are `counters` (delays and injected-failure
 * counts, non-negative integers) or one of `other` (checked by the caller, from `raw`).
 */
export function readConfigPatch<K extends string>(
  patch: unknown,
  counters: readonly K[],
  other: readonly string[],
  fail: (message: string) => Error,
): { raw: Record<string, unknown>; counters: Partial<Record<K, number>> } {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw fail('config must be a JSON object');
  const raw = patch as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!other.includes(key) && !(counters as readonly string[]).includes(key)) throw fail(`unknown config field ${JSON.stringify(key)}`);
  }
  const read: Partial<Record<K, number>> = {};
  for (const key of counters) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw fail(`${key} must be a non-negative integer`);
    read[key] = value;
  }
  return { raw, counters: read };
}
