import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import { luaScript, type ScriptRunner } from '../lua.js';
import { FINISHED_LOG_FIELD, finishedFieldsOf, PACKED_FIELD } from './finished-footprint.js';

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

/**
 * A stored line is JSON; the engine's own lines (most of a server operation's log) leave out
 * `source` and `stream`, which are always `engine` for them: a finished operation keeps its log
 * for as long as it is retained, and those two fields were a third of each such line's bytes.
 */
export function encodeLogLine(line: LogLine, at: string): string {
  return JSON.stringify(line.source === 'engine' && line.stream === 'engine' ? { line: line.line, at } : { ...line, at });
}

/** A stored line, either form (lines written before the engine's were shortened keep both fields). */
export function decodeLogLine(json: string): Omit<LogEntry, 'index'> {
  return { source: 'engine', stream: 'engine', ...(JSON.parse(json) as Partial<Omit<LogEntry, 'index'>>) } as Omit<LogEntry, 'index'>;
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
    redis.call('RPUSH', key, cjson.encode({line = '[log truncated: more than ' .. max .. ' lines]', at = cjson.decode(ARGV[i]).at}))
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
    const encoded = lines.map((l) => encodeLogLine(typeof l === 'string' ? { source: 'engine', stream: 'engine', line: l } : l, at));
    return Number(await this.appendScript(key, String(MAX_LOG_LINES), ...encoded));
  }

  /** Up to `limit` entries starting at position `from`. */
  async read(from = 0, limit = 1000): Promise<LogPage> {
    const key = this.keys.operationLogs(this.operationId);
    const start = Math.max(0, Math.floor(from));
    const count = Math.max(0, Math.floor(limit));
    // Read together: the transition that finishes the operation may fold a short log into its record (finished-footprint.ts).
    const replies = (await this.redis
      .multi()
      .hmget(this.keys.operation(this.operationId), FINISHED_LOG_FIELD, PACKED_FIELD)
      .lrange(key, start, start + Math.max(1, count) - 1)
      .llen(key)
      .exec()) ?? [];
    const [fields, listed, listLength] = replies.map(([err, value]) => {
      if (err) throw err;
      return value;
    }) as [Array<string | null>, string[], number];
    // A finished record's fields may since have been packed into one (finished-footprint.ts).
    const [folded] = finishedFieldsOf(fields, [FINISHED_LOG_FIELD]) as [string | null];
    let raw = listed.slice(0, count);
    let total = listLength;
    if (folded !== null) {
      // Lines written after the fold (late output) follow the folded ones; once folded, the field never changes.
      const head = JSON.parse(folded) as unknown[];
      const fromList = Math.max(0, start - head.length);
      const wanted = Math.max(0, count - Math.max(0, head.length - start));
      const tail = wanted === 0 ? [] : await this.redis.lrange(key, fromList, fromList + wanted - 1);
      raw = [...head.slice(start, start + count).map((line) => JSON.stringify(line)), ...tail];
      total = head.length + listLength;
    }
    const entries = raw.map((json, i) => ({ index: start + i, ...decodeLogLine(json) }));
    return { entries, next: start + entries.length, total };
  }
}
