import winston from 'winston';
import { RedisLogTransport, type RedisLogOptions } from './redis-log-transport.js';
import { currentTraceScope } from '../common/trace-scope.js';

/**
 * JSON-lines logger. Call sites pass `trace_id`, `operation_id` and `workspace` as fields so a
 * request can be followed from the API into its job and provider calls. Secrets are never
 * passed here; `redact` is a last guard for fields that commonly carry them.
 */
const SECRET_FIELDS = new Set(['password', 'token', 'authorization', 'refresh_token', 'secret', 'user_data']);

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_FIELDS.has(key.toLowerCase())) (info as Record<string, unknown>)[key] = '[redacted]';
  }
  return info;
});

/** A line written while serving a request or running an operation names its trace (and operation) unless it names them itself. */
const traceFields = winston.format((info) => {
  const scope = currentTraceScope();
  if (scope) {
    const fields = info as Record<string, unknown>;
    for (const [key, value] of Object.entries(scope)) if (value !== undefined && fields[key] === undefined) fields[key] = value;
  }
  return info;
});

export type Logger = winston.Logger;

export interface LoggerOptions {
  /** Also keep the newest records in a capped Redis list, for `GET /logs` (the API and worker entry points pass it). */
  redisLog?: RedisLogOptions;
}

export function createLogger(service: string, level = 'info', options: LoggerOptions = {}): Logger {
  return skippingDisabledLevels(winston.createLogger({
    level,
    defaultMeta: { service, pid: process.pid },
    format: winston.format.combine(traceFields(), redact(), winston.format.timestamp(), winston.format.json()),
    transports: [
      new winston.transports.Console({ stderrLevels: ['error', 'warn'] }),
      ...(options.redisLog ? [new RedisLogTransport(options.redisLog)] : []),
    ],
  }));
}

/**
 * Winston formats every record (trace fields, redaction, timestamp, JSON) before its
 * transports look at the level, so a line no transport takes (an `info` under LOG_LEVEL=warn,
 * on every request and every step of an operation) cost as much as one written. Each level's
 * method asks first; child loggers inherit the check, and a level changed later is honoured.
 */
function skippingDisabledLevels(logger: Logger): Logger {
  const methods = logger as unknown as Record<string, (this: Logger, ...args: unknown[]) => Logger>;
  for (const level of Object.keys(logger.levels)) {
    const write = methods[level];
    if (typeof write !== 'function') continue;
    methods[level] = function (this: Logger, ...args: unknown[]): Logger {
      return this.isLevelEnabled(level) ? write.apply(this, args) : this;
    };
  }
  return logger;
}

/** Writes the records still waiting for the Redis log list (within `deadlineMs`) and closes it: part of a process's stop. */
export async function closeLogList(logger: Logger, deadlineMs = 2000): Promise<void> {
  await Promise.all(logger.transports.filter((t): t is RedisLogTransport => t instanceof RedisLogTransport).map((t) => t.closeWithin(deadlineMs)));
}

/** What one client error's log line says. */
export interface ClientErrorEntry {
  trace_id?: string;
  method: string;
  path: string;
  status: number;
  code?: string;
  message?: string;
}

/** Longest path or message kept in a client-error line: a request can carry 16 kB in its path. */
const CLIENT_ERROR_TEXT_MAX = 256;

function capped(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return text.length > CLIENT_ERROR_TEXT_MAX ? `${text.slice(0, CLIENT_ERROR_TEXT_MAX)}…(${text.length} chars)` : text;
}

/**
 * A request refused as the client's fault (a 4xx) is one line at `info`, never with a stack:
 * it says nothing about the engine's health, and a flood of bad requests must not flood the
 * log with traces. Path and message are capped; JSON escapes any control characters in them.
 */
export function logClientError(logger: Logger, entry: ClientErrorEntry): void {
  const { message, ...rest } = entry;
  // Not `message`: winston would append it to the line's own.
  logger.info('client error', { ...rest, path: capped(entry.path), reason: capped(message) });
}
