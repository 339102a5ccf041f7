/**
 * What the API allows each caller, held in Redis (rate-limiter-flexible's `RateLimiterRedis` on
 * the engine's own connection, keys `<prefix>:rl:…`) so every API replica counts the same:
 *
 * - a request budget per identity (`RATE_LIMIT_API`) on every authenticated route: a user, each
 *   of its API keys and each external subject has its own (`principalId`);
 * - failed credentials (`RATE_LIMIT_AUTH`): failed logins per client address and, separately,
 *   per username; failed refreshes per address; wrong current passwords per username; bearer
 *   tokens and API keys that fail to authenticate, per address (see `credentialRefused`);
 * - concurrent event streams per identity (`SSE_MAX_STREAMS_PER_IDENTITY`, see `StreamSlots`).
 *
 * Answers carry `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds) and
 * `RateLimit-Policy`; a 429 also `Retry-After`. A limiter that cannot reach Redis lets the
 * request through and logs a warning: the limits protect the API, they are not what makes its
 * answers right, and every request reads its own state from Redis anyway, so failing closed
 * would only turn a Redis hiccup the request itself survives into an error for every caller.
 */
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RequestLimit } from '../../core/config.js';
import type { CoreContext } from '../../core/context.js';
import { EngineError, ErrorCodes, UnauthorizedError } from '../../common/errors.js';
import type { Logger } from '../../core/logger.js';
import { StreamSlots } from '../sse.js';

/** A 429. `retryAfterSeconds` becomes `Retry-After`; the error handlers answer it in their router's shape. */
export class RateLimitedError extends EngineError {
  constructor(message: string, readonly retryAfterSeconds: number, details?: Record<string, unknown>) {
    super(ErrorCodes.RATE_LIMITED, message, details);
  }
}

/** Which credential check a route makes, and so which failures it counts. */
export type CredentialThrottle = 'login' | 'refresh' | 'password';

/** How a credential check ended: only a refused credential keeps its count. */
export interface CredentialAttempt {
  settle(outcome: unknown): Promise<void>;
}

/** A username that could be a real user's: anything else is counted per address only. */
const USERNAME = /^[a-zA-Z0-9_.-]{1,64}$/;

/** Throttled addresses one process remembers (see `refusedAddresses`). */
const MAX_REFUSED_ADDRESSES = 10_000;

/** How long a successful login vouches for its address for that user (see `credentialAttempt`). */
const KNOWN_ADDRESS_TTL_SECONDS = 30 * 86400;

/**
 * The address a limit is keyed by: IPv4 (also when mapped into IPv6) as it is, IPv6 by its /64,
 * the block one host is usually given (per address, one host would have 2^64 budgets).
 */
export function clientKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip || 'unknown';
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => (g || '0').replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export function isCredentialFailure(err: unknown): boolean {
  return err instanceof EngineError && (err.code === ErrorCodes.INVALID_CREDENTIALS || err.code === ErrorCodes.UNAUTHORIZED);
}

/** A refused bearer token or API key that may be a guess: not one that lapsed or could not be checked. */
export function isRefusedCredential(err: unknown): boolean {
  return isCredentialFailure(err) && !(err instanceof UnauthorizedError && err.lapsed);
}

interface Counted {
  limiter: RateLimiterRedis;
  key: string;
  res: RateLimiterRes;
}

export class ApiLimits {
  // Replaced together by `reconfigure` (a configuration reload); each request reads them once.
  private api: RateLimiterRedis | null = null;
  private loginByIp: RateLimiterRedis | null = null;
  private loginByUser: RateLimiterRedis | null = null;
  private refreshByIp: RateLimiterRedis | null = null;
  private credentialsByIp: RateLimiterRedis | null = null;
  /**
   * Addresses this process saw go past the failed-credential limit, until when: checked before
   * a credential is verified, so a caller guessing tokens or keys is refused without costing a
   * Redis read on every good request. Another replica learns of an address at its first failure
   * there, since the count is shared.
   */
  private readonly refusedAddresses = new Map<string, number>();
  private apiLimit: RequestLimit | null = null;
  private authLimit: RequestLimit | null = null;
  readonly streams: StreamSlots;
  private lastWarning = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    settings: { api: RequestLimit | null; auth: RequestLimit | null; sseMaxStreamsPerIdentity: number },
    private readonly logger: Logger,
  ) {
    this.reconfigure(settings);
    this.streams = new StreamSlots(redis, prefix, settings.sseMaxStreamsPerIdentity, logger);
  }

  /**
   * Takes new request limits (RATE_LIMIT_API, RATE_LIMIT_AUTH; a configuration reload). The
   * counts already made stay in Redis under the same keys and are measured against the new sizes.
   */
  reconfigure(settings: { api: RequestLimit | null; auth: RequestLimit | null }): void {
    const limiter = (name: string, limit: RequestLimit | null) =>
      limit === null
        ? null
        : new RateLimiterRedis({
            storeClient: this.redis,
            keyPrefix: `${this.prefix}:rl:${name}`,
            points: limit.points,
            duration: limit.durationSeconds,
            // The engine's connection queues commands while Redis is away; the limiter does not wait for it.
            rejectIfRedisNotReady: true,
          });
    this.apiLimit = settings.api;
    this.authLimit = settings.auth;
    this.api = limiter('api', settings.api);
    this.loginByIp = limiter('login-ip', settings.auth);
    this.loginByUser = limiter('login-user', settings.auth);
    this.refreshByIp = limiter('refresh-ip', settings.auth);
    this.credentialsByIp = limiter('credentials-ip', settings.auth);
    this.refusedAddresses.clear();
  }

  /**
   * Before a bearer token or API key is verified: a 429 when this address failed too often
   * lately (see `credentialRefused`). Costs no Redis call.
   */
  refuseIfThrottled(res: Response, ip: string): void {
    const address = clientKey(ip);
    const until = this.refusedAddresses.get(address);
    if (until === undefined) return;
    const msBeforeNext = until - Date.now();
    if (msBeforeNext <= 0) {
      this.refusedAddresses.delete(address);
      return;
    }
    const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
    res.set('Retry-After', String(retryAfter));
    throw new RateLimitedError('too many failed credentials from this address; retry after the time in Retry-After', retryAfter, { scope: 'address', retry_after_seconds: retryAfter });
  }

  /**
   * A bearer token or API key that was presented and refused: counted per address. Past
   * RATE_LIMIT_AUTH the request is answered 429 instead of 401, and the address is refused
   * before verification until its window ends.
   */
  async credentialRefused(res: Response, ip: string): Promise<void> {
    const limit = this.authLimit;
    if (!this.credentialsByIp || !limit) return;
    const address = clientKey(ip);
    const counted = await this.consume(this.credentialsByIp, address);
    if (!counted || counted.res.consumedPoints <= limit.points) return;
    this.refusedAddresses.set(address, Date.now() + counted.res.msBeforeNext);
    // Bounded: a flood from many addresses keeps only the newest.
    if (this.refusedAddresses.size > MAX_REFUSED_ADDRESSES) this.refusedAddresses.delete(this.refusedAddresses.keys().next().value!);
    setHeaders(res, limit, counted.res);
    if (counted.res.consumedPoints === limit.points + 1) this.logger.warn('credential attempts throttled', { scope: 'address', kind: 'bearer', address });
    throw this.refusal(res, counted.res, 'too many failed credentials from this address; retry after the time in Retry-After', 'address');
  }

  static forContext(ctx: CoreContext): ApiLimits {
    return new ApiLimits(ctx.redis, ctx.keys.prefix, ctx.config.apiLimits, ctx.logger);
  }

  /** One request of `principal` against its budget: sets the RateLimit headers, throws a 429 past it. */
  async spend(res: Response, principal: string): Promise<void> {
    if (!this.api || !this.apiLimit) return;
    const counted = await this.consume(this.api, principal);
    if (!counted) return;
    setHeaders(res, this.apiLimit, counted.res);
    if (counted.res.consumedPoints > this.apiLimit.points) {
      throw this.refusal(res, counted.res, `over the request budget of ${this.apiLimit.points} per ${window(this.apiLimit)}; retry after the time in Retry-After`, 'identity');
    }
  }

  /**
   * Before a credential is checked. The attempt is counted first (atomically, so a burst sent at
   * once cannot slip past the limit while the first ones are still being checked) and given back
   * when the credential was right, or the request failed for another reason: what remains
   * counted is failures only.
   *
   * Logins are counted per address and per username. Past the username's limit, a login from
   * an address this user logged in from before (within 30 days) is still tried: someone failing
   * from elsewhere can lock a user out of new places, not out of the ones already used; the
   * address limit bounds each attacker address as usual. A success refunds only its own count:
   * it does not wipe the failures an attacker piled up.
   */
  async credentialAttempt(res: Response, kind: CredentialThrottle, ip: string, username?: string): Promise<CredentialAttempt | undefined> {
    const limit = this.authLimit;
    if (!limit) return undefined;
    const address = clientKey(ip);
    const user = username !== undefined && USERNAME.test(username) ? username : undefined;
    const counted: Counted[] = [];
    const byIp = kind === 'refresh' ? this.refreshByIp : kind === 'login' ? this.loginByIp : null;
    const refuse = (c: Counted, scope: string): never => {
      // The attempt was not made: it costs only the count that refused it.
      void this.giveBack(counted.filter((x) => x !== c));
      setHeaders(res, limit, c.res);
      if (c.res.consumedPoints === limit.points + 1) this.logger.warn('credential attempts throttled', { scope, kind, address, ...(scope === 'username' ? { username: user } : {}) });
      throw this.refusal(res, c.res, `too many failed attempts; retry after the time in Retry-After`, scope);
    };

    if (byIp) {
      const c = await this.consume(byIp, address);
      if (c) {
        counted.push(c);
        if (c.res.consumedPoints > limit.points) refuse(c, 'address');
      }
    }
    if (user !== undefined && this.loginByUser) {
      const c = await this.consume(this.loginByUser, user);
      if (c) {
        counted.push(c);
        if (c.res.consumedPoints > limit.points && !(await this.knownAddress(user, address))) refuse(c, 'username');
      }
    }
    const binding = counted.reduce<Counted | undefined>((least, c) => (!least || c.res.remainingPoints < least.res.remainingPoints ? c : least), undefined);
    if (binding) setHeaders(res, limit, binding.res);

    return {
      settle: async (outcome) => {
        if (isCredentialFailure(outcome)) return;
        await this.giveBack(counted);
        if (binding) setHeaders(res, limit, binding.res, 1);
        if (outcome === null && kind === 'login' && user !== undefined) {
          await this.redis.set(this.knownAddressKey(user, address), '1', 'EX', KNOWN_ADDRESS_TTL_SECONDS).catch((err) => this.warn(err));
        }
      },
    };
  }

  private knownAddressKey(user: string, address: string): string {
    return `${this.prefix}:rl:login-known:${user}:${address}`;
  }

  private async knownAddress(user: string, address: string): Promise<boolean> {
    try {
      return (await this.redis.exists(this.knownAddressKey(user, address))) === 1;
    } catch (err) {
      this.warn(err);
      return false;
    }
  }

  private async giveBack(counted: Counted[]): Promise<void> {
    await Promise.all(counted.map((c) => c.limiter.reward(c.key, 1).catch((err: unknown) => this.warn(err))));
  }

  /** One point of `key`; the refusal's state when over; null when Redis failed (fail open). */
  private async consume(limiter: RateLimiterRedis, key: string): Promise<Counted | null> {
    try {
      return { limiter, key, res: await limiter.consume(key, 1) };
    } catch (err) {
      if (err instanceof RateLimiterRes) return { limiter, key, res: err };
      this.warn(err);
      return null;
    }
  }

  private refusal(res: Response, state: RateLimiterRes, message: string, scope: string): RateLimitedError {
    const retryAfter = Math.max(1, Math.ceil(state.msBeforeNext / 1000));
    res.set('Retry-After', String(retryAfter));
    return new RateLimitedError(message, retryAfter, { scope, retry_after_seconds: retryAfter });
  }

  /** A 429 for one stream too many; `Retry-After` is a guess: a slot frees when the caller closes a stream. */
  streamRefusal(res: Response, open: number, cap: number): RateLimitedError {
    const retryAfter = 5;
    res.set('Retry-After', String(retryAfter));
    return new RateLimitedError(`at most ${cap} event streams per caller at once (${open} open); close one first`, retryAfter, { scope: 'streams', limit: cap, open });
  }

  private warn(err: unknown): void {
    if (Date.now() - this.lastWarning < 10_000) return;
    this.lastWarning = Date.now();
    this.logger.warn('rate limiter unavailable; requests pass unlimited meanwhile', { error: (err as Error)?.message ?? String(err) });
  }
}

function window(limit: RequestLimit): string {
  const s = limit.durationSeconds;
  return s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

/** The IETF draft's fields (draft-ietf-httpapi-ratelimit-headers): limit, what is left, seconds to the window's end. */
function setHeaders(res: Response, limit: RequestLimit, state: RateLimiterRes, givenBack = 0): void {
  res.set({
    'RateLimit-Limit': String(limit.points),
    'RateLimit-Remaining': String(Math.min(limit.points, state.remainingPoints + givenBack)),
    'RateLimit-Reset': String(Math.max(0, Math.ceil(state.msBeforeNext / 1000))),
    'RateLimit-Policy': `${limit.points};w=${limit.durationSeconds}`,
  });
}
