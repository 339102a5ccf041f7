import type { Redis } from 'ioredis';

export type ScriptRunner = (...args: string[]) => Promise<unknown>;

/**
 * A Lua script registered once per connection and run by its SHA (EVALSHA). The first
 * `numberOfKeys` arguments are its KEYS, the rest ARGV.
 *
 * A script that builds its keys from the engine's key prefix (numberOfKeys 0) gets its first
 * argument — that prefix, or the one key it works on — declared as KEYS[1] too, its ARGV
 * unchanged. On a Redis Cluster the declared key is what routes a script: the prefix is the
 * hash tag of every key the engine writes (see redis-cluster-settings.ts), so the node that
 * holds its slot holds every key such a script builds. On one Redis it changes nothing.
 */
export function luaScript(redis: Redis, name: string, lua: string, numberOfKeys = 0): ScriptRunner {
  const commands = redis as unknown as Record<string, ScriptRunner>;
  const declaresPrefix = numberOfKeys === 0;
  if (!commands[name]) redis.defineCommand(name, { numberOfKeys: declaresPrefix ? 1 : numberOfKeys, lua });
  return declaresPrefix ? (...args) => commands[name]!.call(redis, args[0]!, ...args) : (...args) => commands[name]!.call(redis, ...args);
}
