import type { Redis } from 'ioredis';
import Transport from 'winston-transport';
import type { Config } from './config.js';
import { Keys } from './keys.js';
import { connectRedis, type RedisAddress } from './redis.js';

/** Where the newest log records go and how many are kept. */
export interface RedisLogOptions {
  redisUrl: RedisAddress;
  /** The capped list (Keys.udcLogs()). */
  key: string;
  /** UDC_LOG_ENTRIES. */
  cap: number;
  /** DROPLET_ID, stamped on every record as `GET /logs` answers it. */
  dropletId: number;
}

/** The UDC levels; winston's finer ones (http, verbose, debug, silly) are all DEBUG. */
export type UdcLogLevel = 'ERROR' | 'WARNING' | 'INFO' | 'DEBUG';

export function udcLevel(level: string): UdcLogLevel {
  if (level === 'error') return 'ERROR';
  if (level === 'warn') return 'WARNING';
  if (level === 'info') return 'INFO';
  return 'DEBUG';
}

// A batch goes out this often, or sooner once it holds BATCH records.
const FLUSH_MS = 200;
const BATCH = 200;
// Records waiting while Redis is slow; beyond this new ones are dropped, not queued without end.
const MAX_PENDING = 2000;
// A record longer than this (a stack, a big result) keeps its message and ids, not every field.
const MAX_RECORD_CHARS = 8192;
const MAX_MESSAGE_CHARS = 2048;

/**
 * Writes each log record (after the logger's formats, so secrets are redacted as on the
 * console line) to a capped Redis list for `GET /logs`: batched, one pipelined LPUSH + LTRIM
 * per batch. It never blocks or fails the caller: its connection queues nothing while Redis is
 * unreachable, so a batch that cannot be written is dropped, and the console line stays the
 * record that counts.
 */
export class RedisLogTransport extends Transport {
  private readonly redis: Redis;
  private pending: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** The write under way; one at a time, so a slow Redis holds at most MAX_PENDING records here. */
  private inFlight: Promise<void> | null = null;
  private stopped = false;
  /** Records dropped (Redis down or slow) since the start. */
  dropped = 0;

  constructor(private readonly options: RedisLogOptions) {
    super();
    this.redis = connectRedis(options.redisUrl, 'log-list', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // A Redis that accepts the connection but does not answer fails the batch instead of holding it.
      commandTimeout: 2000,
      retryStrategy: (times) => Math.min(times * 200, 5000),
    });
    // Its own failures are never logged: a log line about the log would feed itself.
    this.redis.on('error', () => undefined);
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    if (!this.stopped) {
      if (this.pending.length >= MAX_PENDING) this.dropped++;
      else this.pending.push(this.serialize(info));
      if (this.pending.length >= BATCH) this.flushSoon(0);
      else this.flushSoon(FLUSH_MS);
    }
    callback();
  }

  /** Starts writing what is pending (unless a write is under way); resolves when that write settled (written or dropped). */
  flushNow(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight) return this.inFlight;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return Promise.resolve();
    this.inFlight = this.writeBatch(batch).finally(() => {
      this.inFlight = null;
      if (this.pending.length > 0 && !this.stopped) this.flushSoon(0);
    });
    return this.inFlight;
  }

  /** Writes what is pending (within `deadlineMs`) and closes the connection. */
  async closeWithin(deadlineMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
      timer.unref();
    });
    const drain = async () => {
      while (this.pending.length > 0 || this.inFlight) await this.flushNow();
    };
    await Promise.race([drain(), late]).finally(() => clearTimeout(timer));
    this.redis.disconnect();
  }

  override close(): void {
    void this.closeWithin(1000);
  }

  private flushSoon(ms: number): void {
    if (this.timer && ms > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flushNow(), ms);
    this.timer.unref();
  }

  private async writeBatch(batch: string[]): Promise<void> {
    if (this.redis.status !== 'ready') {
      this.dropped += batch.length;
      return;
    }
    try {
      // LPUSH of many values puts the last one at the head: the list stays newest first.
      await this.redis.pipeline().lpush(this.options.key, ...batch).ltrim(this.options.key, 0, this.options.cap - 1).exec();
    } catch {
      this.dropped += batch.length;
    }
  }

  private serialize(info: Record<string | symbol, unknown>): string {
    const { level, message, timestamp, ...fields } = info as Record<string, unknown>;
    const text = typeof message === 'string' ? message : JSON.stringify(message ?? '');
    const record = {
      timestamp: typeof timestamp === 'string' ? timestamp : new Date().toISOString(),
      level: udcLevel(String(level)),
      message: text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text,
      droplet_id: this.options.dropletId,
      trace_id: typeof fields.trace_id === 'string' ? fields.trace_id : null,
      ...fields,
    };
    const json = safeJson(record);
    if (json !== null && json.length <= MAX_RECORD_CHARS) return json;
    const { timestamp: at, level: lvl, message: msg, droplet_id, trace_id } = record;
    const { service, operation_id, workspace } = fields;
    return JSON.stringify({ timestamp: at, level: lvl, message: msg, droplet_id, trace_id, service, operation_id, workspace, truncated: true });
  }
}

function safeJson(value: unknown): string | null {
  try {
    return JSON.stringify(value);
  } catch {
    // A circular field: the record is kept without its fields.
    return null;
  }
}

/** The log list of the engine `config` describes, for `createLogger`'s `redisLog` option. */
export function logListOf(config: Config, redisUrl: RedisAddress): RedisLogOptions {
  return { redisUrl, key: new Keys(config.keyPrefix).udcLogs(), cap: config.udcLogEntries, dropletId: config.droplet.id };
}
