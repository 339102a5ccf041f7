import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import { luaScript, type ScriptRunner } from '../lua.js';
import { MAX_LOG_LINES } from './log.js';
import {
  isTerminal,
  JSON_FIELDS,
  laneOf,
  OPERATION_STATUSES,
  OPERATION_TYPES,
  type Operation,
  type OperationError,
  type OperationProgress,
  type OperationStatus,
  type OperationType,
} from './model.js';
import { CREATE_OPERATION, RECORD_PROGRESS, REQUEST_CANCEL, TRANSITION_OPERATION } from './scripts.js';
import { openRecord, PACK_FINISHED, packFinished } from './finished-footprint.js';
import type { IdempotencyBinding } from '../idempotency.js';
import { tell, type OperationObserver } from './observer.js';
import { SecretBox, SecretBoxError } from '../secrets/secret-box.js';
import { SecretKeyMismatchError } from '../secrets/stored-secret.js';
import { DEFAULT_LIST_SCAN_BUDGET, LIST_OPERATIONS_PAGE, LIST_TIME_BUDGET_US } from './list-script.js';

/** Binds an operation's sealed inputs to it: a ciphertext copied onto another operation does not open. */
const sealedPurpose = (id: string) => `operation-sealed:${id}`;

export type TransitionOutcome =
  /** `record` is the operation as the transition left it; `sealed` its sealed inputs. */
  | { outcome: 'ok'; previous: OperationStatus; record: Operation; sealed: Record<string, string> }
  /** The operation had already reached a terminal state: nothing was written. */
  | { outcome: 'finished'; previous: OperationStatus }
  /** The operation is in a status the caller did not expect: nothing was written. */
  | { outcome: 'conflict'; previous: OperationStatus }
  /** Only with `laneCheck`: another operation on the same server goes first; nothing was written but the progress. */
  | { outcome: 'blocked'; previous: OperationStatus; waitingFor: string }
  | { outcome: 'not_found' };

export type CreateOutcome =
  | { outcome: 'created' }
  /** The id is taken (a workflow step written before). */
  | { outcome: 'exists' }
  /** The request's Idempotency-Key already names an operation: this one was not written. */
  | { outcome: 'bound'; operationId: string }
  /** The Idempotency-Key was used for a different request. */
  | { outcome: 'reused' }
  /** The Idempotency-Key already holds an answer that made no operation. */
  | { outcome: 'answered' };

export type CancelRequestOutcome = 'ok' | 'already' | 'not_running' | 'not_found';

export interface TransitionPatch {
  result?: Record<string, unknown> | null;
  error?: OperationError | null;
  progress?: OperationProgress | null;
  target?: Record<string, unknown> | null;
  started_at?: string;
  finished_at?: string;
}

export interface OperationFilters {
  status?: OperationStatus;
  type?: OperationType;
  /** Types starting with this, e.g. `workflow.` for every workflow. */
  typePrefix?: string;
  workspace?: string;
  provider?: string;
  /** Only operations of these workspaces (null or absent: of any): what the caller may see. */
  workspaces?: readonly string[] | null;
}

export interface OperationPage {
  items: Operation[];
  /** Cursor for the next (older) page, or null on the last page. */
  next: string | null;
}

function encode(patch: Record<string, unknown>): string {
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    if (v === null) out[k] = null;
    else out[k] = (JSON_FIELDS as readonly string[]).includes(k) ? JSON.stringify(v) : String(v);
  }
  return JSON.stringify(out);
}

function decode(stored: Record<string, string>, parsedJson?: Record<string, unknown>): Operation | null {
  // A finished record's fields may be packed into one (see finished-footprint.ts).
  const opened = openRecord(stored);
  const hash = opened.fields;
  // JSON fields its caller already parsed from these same values (packing them, see transition).
  const json = parsedJson ?? opened.json;
  if (!hash.id) return null;
  const parsed = (k: string) => (k in json ? json[k] : hash[k] ? JSON.parse(hash[k]!) : null);
  return {
    id: hash.id,
    type: hash.type as OperationType,
    status: hash.status as OperationStatus,
    workspace: hash.workspace!,
    provider: hash.provider as Operation['provider'],
    target: parsed('target'),
    request: parsed('request') ?? {},
    progress: parsed('progress'),
    attempt: Number(hash.attempt ?? 0),
    result: parsed('result'),
    error: parsed('error'),
    parent_id: hash.parent_id ?? null,
    trace_id: hash.trace_id ?? '',
    requested_by: hash.requested_by ?? '',
    cancel_requested_at: hash.cancel_requested_at ?? null,
    cancel_requested_by: hash.cancel_requested_by ?? null,
    retry_of: hash.retry_of ?? null,
    retried_by: hash.retried_by ?? null,
    created_at: hash.created_at!,
    updated_at: hash.updated_at!,
    started_at: hash.started_at ?? null,
    finished_at: hash.finished_at ?? null,
  };
}

/**
 * Operation records in Redis. Reads are plain commands; every write goes through one of the
 * scripts in scripts.ts, so status changes are compare-and-set and always leave the operation's row (see rows.ts)
 * and the event stream consistent with the record.
 */
export class OperationStore {
  private readonly createScript: ScriptRunner;
  private readonly transitionScript: ScriptRunner;
  private readonly progressScript: ScriptRunner;
  private readonly cancelScript: ScriptRunner;
  private readonly listScript: ScriptRunner;
  private readonly packScript: ScriptRunner;
  /** Told of creations, endings and cancel requests this store writes (the process's metrics). */
  readonly observers: OperationObserver[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    /** Seals the inputs kept beside a record (user_data): Redis holds only their ciphertext. */
    private readonly box: SecretBox,
    /** Index entries one page of list() may read at most (OPERATIONS_LIST_SCAN_BUDGET). */
    private readonly listScanBudget: number = DEFAULT_LIST_SCAN_BUDGET,
  ) {
    this.createScript = luaScript(redis, 'peCreateOperation', CREATE_OPERATION);
    this.transitionScript = luaScript(redis, 'peTransitionOperation', TRANSITION_OPERATION);
    this.progressScript = luaScript(redis, 'peRecordProgress', RECORD_PROGRESS);
    this.cancelScript = luaScript(redis, 'peRequestCancel', REQUEST_CANCEL);
    this.listScript = luaScript(redis, 'peListOperationsPage', LIST_OPERATIONS_PAGE, 1);
    this.packScript = luaScript(redis, 'pePackFinishedOperation', PACK_FINISHED, 1);
  }

  /**
   * Writes a new pending operation, into its server's lane if it changes one, and binds the
   * request's Idempotency-Key to it in the same step.
   */
  async create(op: Operation, sealed?: Record<string, string>, idempotency?: IdempotencyBinding): Promise<CreateOutcome> {
    const fields: Record<string, unknown> = { ...op, sealed: sealed ? this.box.seal(JSON.stringify(sealed), sealedPurpose(op.id)) : undefined, lane: laneOf(op) ?? undefined };
    const bind = idempotency ? [idempotency.key, idempotency.fingerprint, String(idempotency.ttlSeconds), idempotency.token] : ['', '', '', ''];
    const [outcome, operationId] = (await this.createScript(this.keys.prefix, op.id, encode(fields), ...bind)) as [CreateOutcome['outcome'], string?];
    if (outcome === 'created') tell(this.observers, (o) => o.created?.(op));
    return outcome === 'bound' ? { outcome, operationId: operationId! } : ({ outcome } as CreateOutcome);
  }

  /** The operation first in line on the server this one changes; null when it is in no lane. */
  async laneHead(id: string): Promise<string | null> {
    const lane = await this.redis.hget(this.keys.operation(id), 'lane');
    if (!lane) return null;
    return (await this.redis.zrange(this.keys.lane(lane), '0', '0'))[0] ?? null;
  }


  async get(id: string): Promise<Operation | null> {
    return decode(await this.redis.hgetall(this.keys.operation(id)));
  }

  async getMany(ids: string[]): Promise<Operation[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.operation(id));
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([, hash]) => decode(hash as Record<string, string>)).filter((op): op is Operation => op !== null);
  }

  /**
   * Moves an operation from one of `from` to `to`. Never throws for a lost race: the outcome
   * says whether it had already finished or was in another status.
   */
  async transition(
    id: string,
    from: readonly OperationStatus[],
    to: OperationStatus,
    patch: TransitionPatch = {},
    opts: { countAttempt?: boolean; markStarted?: boolean; laneCheck?: boolean; now?: Date } = {},
  ): Promise<TransitionOutcome> {
    const at = opts.now ?? new Date();
    const now = at.toISOString();
    const reply = (await this.transitionScript(
      this.keys.prefix,
      id,
      from.join(','),
      to,
      now,
      encode(patch as Record<string, unknown>),
      opts.countAttempt ? '1' : '0',
      opts.markStarted ? '1' : '0',
      opts.laneCheck ? '1' : '0',
      String(at.getTime()),
    )) as string[];
    const [outcome, previous, ...fields] = reply;
    if (outcome === 'not_found') return { outcome };
    if (outcome === 'blocked') return { outcome, previous: previous as OperationStatus, waitingFor: fields[0]! };
    if (outcome === 'ok') {
      const hash: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) hash[fields[i]!] = fields[i + 1]!;
      const sealed = this.openSealed(id, hash.sealed);
      // Once an operation has ended nothing needs its sealed inputs again: drop them, however it ended.
      if (isTerminal(to) && hash.sealed !== undefined) await this.dropSealed(id);
      const parsed = isTerminal(to) ? await this.packFinished(id, hash) : undefined;
      const record = decode(hash, parsed)!;
      if (isTerminal(to)) tell(this.observers, (o) => o.finished?.(record, previous as OperationStatus));
      return { outcome, previous: previous as OperationStatus, record, sealed };
    }
    return { outcome: outcome as 'finished' | 'conflict', previous: previous as OperationStatus };
  }

  /** Packs a finished record's fields into one (see finished-footprint.ts); `hash` is the record as the finishing transition left it. Answers its JSON fields, parsed. */
  private async packFinished(id: string, hash: Record<string, string>): Promise<Record<string, unknown> | undefined> {
    const pack = packFinished(hash);
    if (!pack) return undefined;
    await this.packScript(this.keys.operation(id), pack.packed, ...pack.fields);
    return pack.json;
  }

  /**
   * Forgets an operation's sealed inputs (user_data) for good: once the create that needed
   * them has been sent, and whenever the operation ends (see transition).
   */
  async dropSealed(id: string): Promise<void> {
    await this.redis.hdel(this.keys.operation(id), 'sealed');
  }

  /** An operation's sealed inputs, opened; `{}` when none (or dropped). */
  async sealedInputs(id: string): Promise<Record<string, string>> {
    return this.openSealed(id, (await this.redis.hget(this.keys.operation(id), 'sealed')) ?? undefined);
  }

  /** The sealed inputs as the worker needs them; `{}` when none (or dropped). */
  private openSealed(id: string, stored: string | undefined): Record<string, string> {
    if (!stored) return {};
    // Written in clear by an older version (a JSON object): still readable.
    if (!SecretBox.isSealed(stored)) return JSON.parse(stored) as Record<string, string>;
    try {
      return JSON.parse(this.box.open(stored, sealedPurpose(id))) as Record<string, string>;
    } catch (err) {
      if (err instanceof SecretBoxError) throw new SecretKeyMismatchError(this.box, `the sealed inputs of operation ${id}`, this.keys.operation(id), err.message);
      throw err;
    }
  }

  /** `detail` adds structured fields to the progress (while waiting: since when, the provider's last status). */
  async recordProgress(id: string, step: string, message: string, detail?: Omit<OperationProgress, 'step' | 'message' | 'at'>): Promise<boolean> {
    const at = new Date().toISOString();
    const progress: OperationProgress = { step, message, at, ...detail };
    return (await this.progressScript(this.keys.prefix, id, JSON.stringify(progress), at, message, String(MAX_LOG_LINES))) === 1;
  }

  async requestCancel(id: string, requestedBy: string): Promise<{ outcome: CancelRequestOutcome; status: string }> {
    const [outcome, status] = (await this.cancelScript(
      this.keys.prefix,
      id,
      new Date().toISOString(),
      requestedBy,
    )) as [CancelRequestOutcome, string];
    if (outcome === 'ok') tell(this.observers, (o) => o.cancelRequested?.(id));
    return { outcome, status };
  }

  /** Ids of operations in a status, oldest first; the sweep uses it. */
  async idsWithStatus(status: 'pending' | 'running', limit: number): Promise<string[]> {
    return this.redis.zrange(this.keys.operationIndex('status', status), '0', String(limit - 1));
  }

  /**
   * Newest first, at most `limit` at a time. The cursor is the creation sequence of the last
   * row the page looked at, so pages stay stable while new operations arrive. A page reads
   * about `listScanBudget` rows at most (see list-script.ts): under a rare filter it
   * may come back short, even empty, with a `next` cursor; only `next: null` means the end.
   */
  async list(filters: OperationFilters, limit: number, cursor: string | null): Promise<OperationPage> {
    const visible = filters.workspaces ? [...new Set(filters.workspaces)] : null;
    if (visible && visible.length === 0) return { items: [], next: null };
    if (visible && filters.workspace && !visible.includes(filters.workspace)) return { items: [], next: null };
    // One workspace visible is the same as asking for it: its buckets are ones to walk.
    if (visible && visible.length === 1 && !filters.workspace) filters = { ...filters, workspace: visible[0] };
    const groups: Array<[field: string, values: string[]]> = [];
    if (filters.status) groups.push(['status', [filters.status]]);
    if (filters.type) groups.push(['type', [filters.type]]);
    if (filters.typePrefix) groups.push(['type', OPERATION_TYPES.filter((t) => t.startsWith(filters.typePrefix!))]);
    if (filters.workspace) groups.push(['workspace', [filters.workspace]]);
    else if (visible) groups.push(['workspace', visible]);
    if (filters.provider) groups.push(['provider', [filters.provider]]);
    // A type prefix that names no type matches nothing.
    if (groups.some(([, values]) => values.length === 0)) return { items: [], next: null };
    const reply = (await this.listScript(
      this.keys.operationBuckets(),
      this.keys.prefix,
      cursor === null ? '+inf' : `(${cursor}`,
      String(limit),
      String(Math.max(this.listScanBudget, limit + 1)),
      String(LIST_TIME_BUDGET_US),
      ...groups.flatMap(([field, values]) => [field, String(values.length), ...values]),
    )) as [string, ...string[][]];
    const [next, ...records] = reply;
    const items = records.map((flat) => {
      const hash: Record<string, string> = {};
      for (let i = 0; i < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
      return decode(hash);
    });
    return { items: items.filter((op): op is Operation => op !== null), next: next === '' ? null : String(next) };
  }
}

export function isOperationStatus(s: string): s is OperationStatus {
  return (OPERATION_STATUSES as readonly string[]).includes(s);
}
