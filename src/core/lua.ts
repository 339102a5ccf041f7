import type { Redis } from 'ioredis';

export type ScriptRunner = (...args: string[]) => Promise<unknown>;

/**
 * A Lua script registered once per connection and run by its SHA (EVALSHA). The first
 * `numberOfKeys` arguments are its KEYS, the rest ARGV.
 */
export function luaScript(redis: Redis, name: string, lua: string, numberOfKeys = 0): ScriptRunner {
  const commands = redis as unknown as Record<string, ScriptRunner>;
  if (!commands[name]) redis.defineCommand(name, { numberOfKeys, lua });
  return (...args) => commands[name]!.call(redis, ...args);
}
