import type { Redis } from 'ioredis';
import { ValidationError } from '../common/errors.js';
import type { Keys } from './keys.js';

/**
 * The audit log: an append-only Redis stream of every mutating request and authentication
 * failure. Each entry is one `e` field holding compact JSON. The stream id is the entry's
 * identity and its time (`at` is derived from it, so the order, the `since`/`until` bounds
 * and the retention all follow one clock, Redis's). Entries older than the retention are
 * trimmed by the writes themselves and never listed.
 */

export interface AuditEntryInput {
  actor: string;
  actor_kind: 'user' | 'api_key' | 'external' | 'anonymous';
  key_id?: string;
  /** e.g. 'POST /v1/servers/create' or 'auth.login_failed' */
  action: string;
  resource_type?: string;
  resource_id?: string;
  workspace?: string;
  result: 'success' | 'denied' | 'failed';
  /** HTTP status */
  status: number;
  ip?: string;
  trace_id?: string;
  detail?: Record<string, unknown>;
}

export interface AuditEntry extends AuditEntryInput {
  /** The stream id. */
  id: string;
  /** ISO time. */
  at: string;
}

export interface AuditFilter {
  /** null or absent: every entry; otherwise only entries whose workspace is in the list. */
  workspaces?: readonly string[] | null;
  workspace?: string;
  actor?: string;
  action?: string;
  result?: AuditEntry['result'];
  /** ISO, inclusive. */
  since?: string;
  /** ISO, inclusive. */
  until?: string;
}

const SECRET_KEY = /pass(word)?|secret|token|api[_-]?key|^key$|authorization|user_data|private/i;
const MAX_STRING = 512;
const MAX_DEPTH = 6;
const REDACTED = '[redacted]';
// Bounds memory per round trip whatever the page size, and keeps each XREVRANGE short.
const BATCH = 200;
const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;

function truncate(s: string): string {
  return s.length > MAX_STRING ? `${s.slice(0, MAX_STRING)}…` : s;
}

/**
 * A copy of `value` safe to store: the value of any key that names a secret is replaced by
 * '[redacted]', strings longer than 512 characters are cut (and end in '…'), and nesting
 * deeper than 6 levels is replaced by '[too deep]' so a cyclic or hostile value cannot
 * make the log loop or grow without bound.
 */
export function scrubSecrets(value: unknown): unknown {
  return scrub(value, 0);
}

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return truncate(value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  // JSON would drop these anyway; dropping them here keeps arrays and objects the same shape JSON gives.
  if (typeof value === 'undefined' || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  // Raw bytes could be anything, key material included, and are never useful to an auditor.
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[binary ${value.byteLength} bytes]`;
  if (value instanceof Error) return { name: value.name, message: truncate(value.message) };
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1) ?? null);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (SECRET_KEY.test(k)) {
      out[k] = REDACTED;
      continue;
    }
    const scrubbed = scrub(v, depth + 1);
    if (scrubbed !== undefined) out[k] = scrubbed;
  }
  return out;
}

function parseId(id: string): [bigint, bigint] {
  const m = STREAM_ID.exec(id)!;
  return [BigInt(m[1]!), BigInt(m[2]!)];
}

function idLess(a: string, b: string): boolean {
  const [am, as] = parseId(a);
  const [bm, bs] = parseId(b);
  return am < bm || (am === bm && as < bs);
}

function isoToMs(field: 'since' | 'until', iso: string): number {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms) || ms < 0) throw new ValidationError([{ field, problem: 'must be an ISO 8601 time' }]);
  return ms;
}

export class AuditLog {
  private readonly retentionMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    retentionSeconds: number,
  ) {
    if (!Number.isFinite(retentionSeconds) || retentionSeconds <= 0) {
      throw new RangeError(`audit retention must be a positive number of seconds, got ${retentionSeconds}`);
    }
    this.retentionMs = Math.round(retentionSeconds * 1000);
  }

  /** The oldest stream time still kept. */
  private cutoffMs(): number {
    return Math.max(0, Date.now() - this.retentionMs);
  }

  /**
   * One XADD. The approximate MINID trim removes only whole stream nodes, so it never walks
   * entries one by one on the request path; what it leaves behind past the retention `list`
   * hides. Throws what Redis throws: whether a failed audit write fails the request is the
   * caller's decision.
   */
  async append(entry: AuditEntryInput): Promise<void> {
    const record: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entry)) {
      if (v === undefined) continue;
      if (k === 'detail') record[k] = scrubSecrets(v);
      // Top-level strings come from headers and paths a client controls (ip, trace_id, action).
      else record[k] = typeof v === 'string' ? truncate(v) : v;
    }
    await this.redis.xadd(this.keys.audit(), 'MINID', '~', String(this.cutoffMs()), '*', 'e', JSON.stringify(record));
  }

  /**
   * Newest first, at most `limit` entries matching `filter`, read in batches of 200 stream
   * entries. `since`/`until` and the retention bound the stream range read, so they cost
   * nothing; the other filters are checked on each entry, so a very selective one may read
   * many batches. `next` is the id of the last item returned when an older match exists.
   */
  async list(filter: AuditFilter, limit: number, cursor: string | null): Promise<{ items: AuditEntry[]; next: string | null }> {
    if (!Number.isInteger(limit) || limit < 1) throw new ValidationError([{ field: 'limit', problem: 'must be a positive integer' }]);
    if (cursor !== null && !STREAM_ID.test(cursor)) throw new ValidationError([{ field: 'cursor', problem: 'is not a cursor this list returned' }]);
    if (filter.workspaces && filter.workspaces.length === 0) return { items: [], next: null };

    const sinceMs = filter.since === undefined ? 0 : isoToMs('since', filter.since);
    const untilMs = filter.until === undefined ? null : isoToMs('until', filter.until);
    // A bare millisecond as the start means its first sequence and as the end its last, so both bounds include that millisecond.
    const start = String(Math.max(sinceMs, this.cutoffMs()));
    let end: string = untilMs === null ? '+' : String(untilMs);
    if (cursor !== null && (untilMs === null || idLess(cursor, `${untilMs}-18446744073709551615`))) end = `(${cursor}`;

    const workspaces = filter.workspaces ? new Set(filter.workspaces) : null;
    const matches = (e: AuditEntry) =>
      (workspaces === null || (e.workspace !== undefined && workspaces.has(e.workspace))) &&
      (filter.workspace === undefined || e.workspace === filter.workspace) &&
      (filter.actor === undefined || e.actor === filter.actor) &&
      (filter.action === undefined || e.action === filter.action) &&
      (filter.result === undefined || e.result === filter.result);
    const unfiltered = !workspaces && [filter.workspace, filter.actor, filter.action, filter.result].every((v) => v === undefined);
    // Unfiltered, every entry read is a match, so reading more than one page and one extra is waste.
    const batch = unfiltered ? Math.min(BATCH, limit + 1) : BATCH;

    const items: AuditEntry[] = [];
    // One match beyond `limit` tells whether an older page exists.
    while (items.length <= limit) {
      const rows = await this.redis.xrevrange(this.keys.audit(), end, start, 'COUNT', batch);
      for (const [id, fields] of rows) {
        const entry = decode(id, fields);
        if (entry && matches(entry)) {
          items.push(entry);
          if (items.length > limit) break;
        }
      }
      if (rows.length < batch) break;
      end = `(${rows[rows.length - 1]![0]}`;
    }
    const hasMore = items.length > limit;
    if (hasMore) items.length = limit;
    return { items, next: hasMore ? items[items.length - 1]!.id : null };
  }
}

function decode(id: string, fields: string[]): AuditEntry | null {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== 'e') continue;
    try {
      const body: unknown = JSON.parse(fields[i + 1]!);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
      return { ...(body as AuditEntryInput), id, at: new Date(Number(id.slice(0, id.indexOf('-')))).toISOString() };
    } catch {
      // One unreadable entry must not make the whole log unreadable.
      return null;
    }
  }
  return null;
}
