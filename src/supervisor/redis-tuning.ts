/**
 * Memory settings the managed `redis-server` runs with (and that we recommend for a Redis
 * given by REDIS_URL; see README).
 *
 * hash-max-listpack-value: Redis keeps a small hash as one compact listpack only while every
 * value is at most this long (64 bytes by default); a single longer value turns the whole hash
 * into a hash table, which costs about twice the bytes. An operation record holds its request
 * and result as JSON (a server.create's result is about 600 bytes), so at the default every
 * record is a hash table. At 1024 a typical finished record stays a listpack (about 1.3 KB
 * instead of 2.5 KB); a hash still has at most 128 fields (hash-max-listpack-entries), so the
 * largest listpack a write must move stays around 128 KB.
 */
export const REDIS_MEMORY_SETTINGS: ReadonlyArray<readonly [name: string, value: string]> = [['hash-max-listpack-value', '1024']];

/** The settings as redis-server command-line arguments. */
export function redisMemoryArgs(): string[] {
  return REDIS_MEMORY_SETTINGS.flatMap(([name, value]) => [`--${name}`, value]);
}
