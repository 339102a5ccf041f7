import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { EngineError, ErrorCodes, ValidationError } from './errors.js';
import type { Keys } from './keys.js';
import type { Logger } from './logger.js';
import { luaScript, type ScriptRunner } from './lua.js';

/**
 * Idempotency keys: a client that retries a mutating request with the same `Idempotency-Key`
 * gets the first answer again instead of a second operation.
 *
 * A key is one Redis hash, scoped per user, method and path: `state` (`in_progress` | `done`),
 * the request's `fingerprint`, the claiming request's `token`, and once done the answer
 * (`status`, `headers`, `body`). Claiming is one Lua script, so of two requests arriving at
 * once exactly one claims and the other sees the claim.
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
 * ARGV: key, fingerprint, token, lease seconds, now. Claims a free key (returns {'claimed'})
 * or returns what holds it: {state, fingerprint, status, headers, body}.
 */
const BEGIN = `
local key = ARGV[1]
local cur = redis.call('HMGET', key, 'state', 'fingerprint', 'status', 'headers', 'body')
if not cur[1] then
  redis.call('HSET', key, 'state', 'in_progress', 'fingerprint', ARGV[2], 'token', ARGV[3], 'created_at', ARGV[5])
  redis.call('EXPIRE', key, tonumber(ARGV[4]))
  return {'claimed'}
end
return {cur[1], cur[2] or '', cur[3] or '', cur[4] or '', cur[5] or ''}`;

/**
 * ARGV: key, token, status, headers, body, ttl seconds. Records the answer, only while the
 * claim is still this request's (an expired lease may have been claimed again since).
 */
const COMPLETE = `
local key = ARGV[1]
if redis.call('HGET', key, 'token') ~= ARGV[2] then return 0 end
redis.call('HSET', key, 'state', 'done', 'status', ARGV[3], 'headers', ARGV[4], 'body', ARGV[5])
redis.call('EXPIRE', key, tonumber(ARGV[6]))
return 1`;

/** ARGV: key, token. Frees a claim this request still holds and has not completed. */
const RELEASE = `
local key = ARGV[1]
local cur = redis.call('HMGET', key, 'state', 'token')
if cur[1] ~= 'in_progress' or cur[2] ~= ARGV[2] then return 0 end
redis.call('DEL', key)
return 1`;

/** JSON with object keys sorted at every depth, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are one request. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value as object)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
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

export class IdempotencyKeyInProgressError extends EngineError {
  constructor(scope: IdempotencyScope, waitedMs: number) {
    super(
      ErrorCodes.IDEMPOTENCY_KEY_IN_PROGRESS,
      `a request with the ${IDEMPOTENCY_HEADER} '${scope.key}' is still being processed after ${Math.round(waitedMs / 1000)} s; retry it later`,
      { header: IDEMPOTENCY_HEADER },
    );
  }
}

export type Claim =
  | { kind: 'replay'; reply: StoredReply }
  | { kind: 'claimed'; complete(reply: StoredReply): Promise<void>; release(): Promise<void> };

export interface IdempotencyTiming {
  /** How long a request waits for a concurrent one with the same key to finish. */
  waitMs: number;
  pollMs: number;
  /**
   * How long an unfinished claim lives: should the API process die mid-request, the key is
   * free again after this, rather than answering "in progress" for the whole TTL.
   */
  leaseSeconds: number;
}

const DEFAULT_TIMING: IdempotencyTiming = { waitMs: 10_000, pollMs: 50, leaseSeconds: 60 };

export class IdempotencyStore {
  private readonly begin: ScriptRunner;
  private readonly completeScript: ScriptRunner;
  private readonly releaseScript: ScriptRunner;
  private readonly timing: IdempotencyTiming;

  constructor(
    redis: Redis,
    private readonly keys: Keys,
    private readonly ttlSeconds: number,
    private readonly logger: Logger,
    timing: Partial<IdempotencyTiming> = {},
  ) {
    this.begin = luaScript(redis, 'peIdempotencyBegin', BEGIN);
    this.completeScript = luaScript(redis, 'peIdempotencyComplete', COMPLETE);
    this.releaseScript = luaScript(redis, 'peIdempotencyRelease', RELEASE);
    this.timing = { ...DEFAULT_TIMING, ...timing };
  }

  private redisKey(scope: IdempotencyScope): string {
    const digest = createHash('sha256').update(`${scope.method.toUpperCase()} ${scope.path}\n${scope.key}`).digest('hex');
    return this.keys.idempotency(scope.username, digest);
  }

  /**
   * Claims the key for this request, or returns the answer of the request that already ran
   * with it. While another request with the same key and body is running, waits for it
   * (bounded); if that one gives its claim up (a 5xx), this request claims the key and runs.
   */
  async claim(scope: IdempotencyScope, fingerprint: string): Promise<Claim> {
    const key = this.redisKey(scope);
    const token = randomUUID();
    const lease = Math.min(this.timing.leaseSeconds, Math.max(this.ttlSeconds, 1));
    const started = Date.now();
    for (;;) {
      const [state, held, status, headers, body] = (await this.begin(key, fingerprint, token, String(lease), new Date().toISOString())) as string[];
      if (state === 'claimed') return this.claimed(key, token, scope);
      if (held !== fingerprint) throw new IdempotencyKeyReusedError(scope);
      if (state === 'done') return { kind: 'replay', reply: { status: Number(status), headers: JSON.parse(headers || '{}') as Record<string, string>, body: body ?? '' } };
      const waited = Date.now() - started;
      if (waited >= this.timing.waitMs) throw new IdempotencyKeyInProgressError(scope, waited);
      await new Promise((r) => setTimeout(r, this.timing.pollMs));
    }
  }

  /**
   * Neither completing nor releasing may fail the request: its work is done (or failed) either
   * way. Should Redis miss the write, the claim's lease ends it.
   */
  private claimed(key: string, token: string, scope: IdempotencyScope): Claim {
    const context = { username: scope.username, method: scope.method, path: scope.path };
    return {
      kind: 'claimed',
      complete: async (reply) => {
        try {
          const kept = await this.completeScript(key, token, String(reply.status), JSON.stringify(reply.headers), reply.body, String(this.ttlSeconds));
          if (kept !== 1) this.logger.warn('idempotency claim expired before its answer was recorded', context);
        } catch (err) {
          this.logger.warn('could not record the answer for an idempotency key', { ...context, error: (err as Error).message });
        }
      },
      release: async () => {
        await this.releaseScript(key, token).catch((err: Error) =>
          this.logger.warn('could not release an idempotency key', { ...context, error: err.message }),
        );
      },
    };
  }
}
