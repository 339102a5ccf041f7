/**
 * How deeply a request's JSON may nest. The API refuses a deeper body when it parses it (see
 * api/middleware/request-guards.ts): recursive code further in (`structuredClone`, schema
 * checks, canonical hashing, the audit log) would otherwise overflow the stack on a body of a
 * few kilobytes of brackets. No request the engine documents comes near: a custom workflow,
 * the deepest, nests about eight levels.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether `value` nests objects and arrays more than `limit` deep (`{}` and `[]` are depth 1,
 * a scalar 0). Walks with its own stack, so any depth is measured without recursion, and
 * stops at the first container past the limit.
 */
export function exceedsJsonDepth(value: unknown, limit = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: Array<[object, number]> = [[value, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (depth > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child as object, depth + 1]);
    }
  }
  return false;
}
