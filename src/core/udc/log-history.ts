import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import type { UdcLogLevel } from '../redis-log-transport.js';

/** The levels `GET /logs?level=` takes, lowest first: one names itself and everything above it. */
export const LOG_LEVEL_FILTERS = ['INFO', 'WARNING', 'ERROR'] as const;
export type LogLevelFilter = (typeof LOG_LEVEL_FILTERS)[number];

const RANK: Record<UdcLogLevel, number> = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3 };

/** `level` as the client sent it (any case), or null when it names no known level. */
export function parseLevelFilter(raw: string): LogLevelFilter | null {
  const upper = raw.trim().toUpperCase();
  return (LOG_LEVEL_FILTERS as readonly string[]).includes(upper) ? (upper as LogLevelFilter) : null;
}

export interface LogRecord {
  timestamp: string;
  level: UdcLogLevel;
  message: string;
  droplet_id: number;
  trace_id: string | null;
  [field: string]: unknown;
}

// Records read per LRANGE; the list itself is capped (UDC_LOG_ENTRIES), so reading ends there.
const PAGE = 500;

/**
 * The newest `limit` records of the log list (every process's), newest first, only those at
 * `level` or above when given. Reads page by page and stops as soon as it has enough; the
 * list's cap bounds the rest.
 */
export async function recentLogs(redis: Redis, keys: Keys, limit: number, level: LogLevelFilter | null): Promise<LogRecord[]> {
  const floor = level ? RANK[level] : 0;
  const found: LogRecord[] = [];
  // Records pushed while we read shift the list: the next page then starts with some already seen.
  const seen = new Set<string>();
  for (let start = 0; found.length < limit; start += PAGE) {
    const page = await redis.lrange(keys.udcLogs(), start, start + PAGE - 1);
    for (const raw of page) {
      if (seen.has(raw)) continue;
      seen.add(raw);
      const record = parse(raw);
      if (record && (RANK[record.level] ?? 0) >= floor) found.push(record);
      if (found.length >= limit) break;
    }
    if (page.length < PAGE) break;
  }
  return found;
}

function parse(raw: string): LogRecord | null {
  try {
    const record = JSON.parse(raw) as LogRecord;
    return record && typeof record === 'object' && typeof record.level === 'string' ? record : null;
  } catch {
    return null;
  }
}
