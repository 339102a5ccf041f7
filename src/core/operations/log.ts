import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import { luaScript, type ScriptRunner } from '../lua.js';

/** Where a line came from: a server's stdout or stderr, or the engine saying what it does. */
export type LogStream = 'stdout' | 'stderr' | 'engine';

export interface LogLine {
  /** The server's hostname, or `engine`. */
  source: string;
  stream: LogStream;
  line: string;
}

export interface LogEntry extends LogLine {
  /** Position in the log, from 0; pass `next` of one read as `from` of the next. */
  index: number;
  at: string;
}

export interface LogPage {
  entries: LogEntry[];
  /** Where the next read starts; equals `total` once everything written so far was read. */
  next: number;
  total: number;
}

/** Lines one operation may write; beyond that one marker line says the rest was dropped. */
export const MAX_LOG_LINES = 20000;

/**
 * ARGV: key, max, entries (JSON strings)… Appends while the list is under `max`, then one
 * truncation marker, so readers' positions stay valid (the list is never trimmed at the head).
 */
const APPEND_LINES = `
local key, max = ARGV[1], tonumber(ARGV[2])
local len = redis.call('LLEN', key)
if len > max then return len end
for i = 3, #ARGV do
  if len == max then
    redis.call('RPUSH', key, cjson.encode({source = 'engine', stream = 'engine', line = '[log truncated: more than ' .. max .. ' lines]', at = cjson.decode(ARGV[i]).at}))
    return len + 1
  end
  redis.call('RPUSH', key, ARGV[i])
  len = len + 1
end
return len`;

/**
 * The output of one operation (for task services: every line each server's script printed),
 * kept in the Redis list `<prefix>:op:<id>:logs` in the order it was written.
 */
export class OperationLog {
  private readonly appendScript: ScriptRunner;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    readonly operationId: string,
  ) {
    this.appendScript = luaScript(redis, 'peAppendOperationLog', APPEND_LINES);
  }

  /** Appends lines (plain strings count as the engine's own); returns the log's length. */
  async append(lines: ReadonlyArray<LogLine | string>): Promise<number> {
    const key = this.keys.operationLogs(this.operationId);
    if (lines.length === 0) return this.redis.llen(key);
    const at = new Date().toISOString();
    const encoded = lines.map((l) => JSON.stringify(typeof l === 'string' ? { source: 'engine', stream: 'engine', line: l, at } : { ...l, at }));
    return Number(await this.appendScript(key, String(MAX_LOG_LINES), ...encoded));
  }

  /** Up to `limit` entries starting at position `from`. */
  async read(from = 0, limit = 1000): Promise<LogPage> {
    const key = this.keys.operationLogs(this.operationId);
    const start = Math.max(0, Math.floor(from));
    const count = Math.max(0, Math.floor(limit));
    const [raw, total] = await Promise.all([
      count === 0 ? Promise.resolve([] as string[]) : this.redis.lrange(key, start, start + count - 1),
      this.redis.llen(key),
    ]);
    const entries = raw.map((json, i) => ({ index: start + i, ...(JSON.parse(json) as Omit<LogEntry, 'index'>) }));
    return { entries, next: start + entries.length, total };
  }
}
