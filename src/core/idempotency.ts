import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { EngineError, ErrorCodes, ValidationError } from '../common/errors.js';
import type { Keys } from './keys.js';
import type { Logger } from './logger.js';
import { luaScript, type ScriptRunner } from './lua.js';

/**
 * Idempotency keys: a client that retries a mutating request with the same `Idempotency-Key`
 * gets the first answer again instead of a second operation.
 *
 * A key is one Redis hash, scoped per user, method and path, holding the request's
 * `fingerprint` and what the request did: the `operation_id` it created, written by the same
 * script that writes the operation (see CREATE_OPERATION), and the answer (`status`,
 * `headers`, `body`) once it was sent. Nothing is held while a request runs, so no lease is
 * left to wait out when the API dies mid-request:
 * - died before writing its operation: nothing happened, and the retry runs afresh;
 * - died after: the key names the operation, and the retry answers with it at once;
 * - two requests with one key at once: both run, the operation write lets one of them create
 *   and hands the other the same operation; the first answer recorded is the one replayed.
 */

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** An answer as it is kept for replay; `body` is the JSON text exactly as first sent. */
export interface StoredReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface IdempotencyScope {
  username: string;
  method: string;
  path: string;
  key: string;
}

/**
 * ARGV: key, fingerprint. What the key holds: {'free'}, {'reused'} (another request's key),
 * {'answer', status, headers, body} or {'bound', operation id} (made an operation, answer unsent).
 */
const LOOK = `
local cur = redis.call('HMGET', ARGV[1], 'fingerprint', 'status', 'headers', 'body', 'operation_id')
if not cur[1] then return {'free'} end
if cur[1] ~= ARGV[2] then return {'reused'} end
if cur[2] then return {'answer', cur[2], cur[3] or '{}', cur[4] or ''} end
if cur[5] then return {'bound', cur[5]} end
return {'free'}`;

/**
 * ARGV: key, fingerprint, token, status, headers, body, ttl seconds. Records a request's answer
 * unless one is there already, which then wins: {'answer', status, headers, body} (but the
 * request that made the key's operation keeps its own answer, which names the same operation). Otherwise
 * {'recorded', '1'} when the key's operation was made by another request with this key (this
 * one then only repeats that answer), {'recorded', ''} when not.
 */
const RECORD = `
local cur = redis.call('HMGET', ARGV[1], 'fingerprint', 'status', 'headers', 'body', 'token', 'operation_id')
if cur[1] and cur[1] ~= ARGV[2] then return {'reused'} end
-- The request that made the operation answers as itself, even when a repeat of it was quicker to record.
if cur[2] and cur[5] == ARGV[3] then return {'recorded', ''} end
if cur[2] then return {'answer', cur[2], cur[3] or '{}', cur[4] or ''} end
redis.call('HSET', ARGV[1], 'fingerprint', ARGV[2], 'status', ARGV[4], 'headers', ARGV[5], 'body', ARGV[6])
redis.call('EXPIRE', ARGV[1], tonumber(ARGV[7]))
if cur[6] and cur[5] ~= ARGV[3] then return {'recorded', '1'} end
return {'recorded', ''}`;

/**
 * JSON with object keys sorted at every depth, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are one request.
 *
 * Written with its own work stack rather than recursion: the API refuses bodies nested more
 * than MAX_JSON_DEPTH when it parses them, and this is the second line, so that no body that
 * gets here can overflow the call stack while it is hashed. The text is exactly what the
 * recursive form gave (keys already stored keep their fingerprints): `undefined` as `null` at
 * the top and in arrays, left out of objects.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  // Pending work, last first: a value to write, or literal text (brackets, commas, keys).
  const work: Array<{ text: string } | { value: unknown }> = [{ value }];
  while (work.length) {
    const item = work.pop()!;
    if ('text' in item) {
      out.push(item.text);
      continue;
    }
    const v = item.value;
    if (v === undefined) out.push('null');
    else if (v === null || typeof v !== 'object') out.push(JSON.stringify(v));
    else if (Array.isArray(v)) {
      work.push({ text: ']' });
      for (let i = v.length - 1; i >= 0; i--) {
        work.push({ value: v[i] });
        if (i > 0) work.push({ text: ',' });
      }
      out.push('[');
    } else {
      const record = v as Record<string, unknown>;
      const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
      work.push({ text: '}' });
      for (let i = keys.length - 1; i >= 0; i--) {
        work.push({ value: record[keys[i]!] });
        work.push({ text: `${i > 0 ? ',' : ''}${JSON.stringify(keys[i])}:` });
      }
      out.push('{');
    }
  }
  return out.join('');
}

/** What makes two requests "the same": method, path, query and body, key order aside. */
export function requestFingerprint(method: string, path: string, query: unknown, body: unknown): string {
  return createHash('sha256').update(canonicalJson([method.toUpperCase(), path, query ?? {}, body])).digest('hex');
}

/**
 * The key from a request header, or null when none was sent. Printable ASCII only, so it
 * shows up legibly in messages and logs; at most 255 characters, as other APIs allow.
 */
export function parseIdempotencyKey(raw: string | string[] | undefined): string | null {
  if (raw === undefined) return null;
  if (typeof raw === 'string' && /^[\x20-\x7E]{1,255}$/.test(raw)) return raw;
  throw new ValidationError([{ field: `header.${IDEMPOTENCY_HEADER}`, problem: 'must be 1 to 255 printable ASCII characters' }]);
}

export class IdempotencyKeyReusedError extends EngineError {
  constructor(scope: IdempotencyScope) {
    super(
      ErrorCodes.IDEMPOTENCY_KEY_REUSED,
      `the ${IDEMPOTENCY_HEADER} '${scope.key}' was already used for ${scope.method} ${scope.path} with a different request body; ` +
        'send the original body to get its answer again, or use a new key for a new request',
      { header: IDEMPOTENCY_HEADER },
    );
  }
}

/**
 * What a request with a key passes to the operation write, so the key is bound to the
 * operation in the same step (see OperationStore.create).
 */
export interface IdempotencyBinding {
  scope: IdempotencyScope;
  /** The key's Redis key. */
  key: string;
  fingerprint: string;
  ttlSeconds: number;
  /** This request's own mark, telling the request that made the operation from one that found it. */
  token: string;
}

/** What a key says before the request runs. */
export type KeyState =
  | { kind: 'free'; binding: IdempotencyBinding }
  | { kind: 'replay'; reply: StoredReply }
  /** An operation was made under this key but its answer never went out (the API died): answer with the operation. */
  | { kind: 'bound'; operationId: string };

/** What recording a request's answer found: its own answer kept, or an earlier one to send instead. */
export type RecordOutcome = { kind: 'recorded'; repeated: boolean } | { kind: 'replay'; reply: StoredReply };

/**
 * Thrown by the operation write when the key already holds an answer that made no operation
 * (a concurrent request with this key got, say, a 400 first): the request answers with that.
 */
export class IdempotencyKeyAnsweredError extends Error {
  constructor() {
    super('the Idempotency-Key was answered by a concurrent request');
  }
}

function storedReply(status: string, headers: string, body: string): StoredReply {
  return { status: Number(status), headers: JSON.parse(headers || '{}') as Record<string, string>, body };
}

export class IdempotencyStore {
  private readonly look: ScriptRunner;
  private readonly record: ScriptRunner;

  constructor(
    redis: Redis,
    private readonly keys: Keys,
    private readonly ttlSeconds: number,
    private readonly logger: Logger,
  ) {
    this.look = luaScript(redis, 'peIdempotencyLook', LOOK);
    this.record = luaScript(redis, 'peIdempotencyRecord', RECORD);
  }

  private redisKey(scope: IdempotencyScope): string {
    const digest = createHash('sha256').update(`${scope.method.toUpperCase()} ${scope.path}\n${scope.key}`).digest('hex');
    return this.keys.idempotency(scope.username, digest);
  }

  /** What the key holds for this request; a key used with another request body is refused. */
  async state(scope: IdempotencyScope, fingerprint: string): Promise<KeyState> {
    const key = this.redisKey(scope);
    const [kind, a, b, c] = (await this.look(key, fingerprint)) as string[];
    if (kind === 'reused') throw new IdempotencyKeyReusedError(scope);
    if (kind === 'answer') return { kind: 'replay', reply: storedReply(a!, b!, c!) };
    if (kind === 'bound') return { kind: 'bound', operationId: a! };
    return { kind: 'free', binding: { scope, key, fingerprint, ttlSeconds: this.ttlSeconds, token: randomUUID() } };
  }

  /**
   * Keeps the request's answer for replay. Should Redis miss the write the request still
   * answers: a key bound to an operation replays that operation all the same.
   */
  async keep(scope: IdempotencyScope, binding: IdempotencyBinding, reply: StoredReply): Promise<RecordOutcome> {
    try {
      const [kind, a, b, c] = (await this.record(binding.key, binding.fingerprint, binding.token, String(reply.status), JSON.stringify(reply.headers), reply.body, String(this.ttlSeconds))) as string[];
      if (kind === 'reused') throw new IdempotencyKeyReusedError(scope);
      if (kind === 'answer') return { kind: 'replay', reply: storedReply(a!, b!, c!) };
      return { kind: 'recorded', repeated: a === '1' };
    } catch (err) {
      if (err instanceof IdempotencyKeyReusedError) throw err;
      this.logger.warn('could not record the answer for an idempotency key', { username: scope.username, method: scope.method, path: scope.path, error: (err as Error).message });
      return { kind: 'recorded', repeated: false };
    }
  }
}
