/**
 * Glossary
 * - access token: a short-lived HS256 JWT (ACCESS_TOKEN_TTL_SECONDS, 15 min by default)
 *   naming its user (`sub`) and its session (`fam`). It carries no role: who the user is and
 *   what it may do are read from the user's record on every request.
 * - refresh token: an opaque random string, kept in Redis only as its SHA-256, good for one
 *   exchange. Exchanging it spends it and hands out a new pair in the same session.
 * - session (token family): one login's chain of refresh tokens. It ends at logout, when a
 *   spent refresh token is offered again (someone holds a stolen copy: the whole chain is
 *   revoked), when the user is disabled or gets a new password, or when its lifetime
 *   (REFRESH_TOKEN_TTL_SECONDS from the login, not from the last exchange) runs out.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { CredentialLapsedError, UnauthorizedError } from '../../common/errors.js';
import type { Keys } from '../keys.js';
import { luaScript, type ScriptRunner } from '../lua.js';
import { secretBox } from '../secrets/secret-key.js';
import { sharedSecret } from '../secrets/stored-secret.js';

export interface TokenPair {
  token: string;
  refresh_token: string;
  expires_in: number;
  token_type: 'Bearer';
}

/** A verified access token: whose, which session, when issued (epoch ms). */
export interface AccessClaims {
  username: string;
  session: string;
  issuedAtMs: number;
}

interface Claims {
  sub?: unknown;
  typ?: unknown;
  fam?: unknown;
  ims?: unknown;
  iat?: unknown;
  exp?: unknown;
}

export type RefreshOutcome =
  | { outcome: 'ok'; username: string; session: string; sessionStartedMs: number }
  /** The token had been exchanged before: its session is now revoked. */
  | { outcome: 'reused'; username: string; session: string }
  | { outcome: 'unknown' | 'ended' };

const CACHE_LIMIT = 10000;
const REFRESH_PREFIX = 'pe_rt_';

/**
 * KEYS[1] the refresh token, KEYS[2] its session. Spends the token; a token spent before
 * revokes the session, since only a copy can be offered twice.
 */
const SPEND_REFRESH = `
local spent = redis.call('HGET', KEYS[1], 'spent')
if not spent then return {'unknown'} end
if spent == '1' then
  redis.call('HSET', KEYS[2], 'revoked', '1')
  return {'reused'}
end
if redis.call('HGET', KEYS[2], 'revoked') ~= '0' then return {'ended'} end
redis.call('HSET', KEYS[1], 'spent', '1')
return {'ok', redis.call('HGET', KEYS[2], 'started')}
`;

export class TokenService {
  private readonly verified = new Map<string, AccessClaims & { expMs: number }>();
  private readonly spendRefresh: ScriptRunner;

  private constructor(
    private readonly config: Config,
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly secret: string,
  ) {
    this.spendRefresh = luaScript(redis, 'peSpendRefresh', SPEND_REFRESH, 2);
  }

  /**
   * The secret is JWT_SECRET, or one generated on first start and shared through Redis,
   * sealed with the engine's secret key (src/core/secrets/): a Redis dump alone mints no
   * token. One that does not open under the configured key stops the start (naming the key's
   * setting) rather than being replaced, which would end every session.
   */
  static async create(config: Config, redis: Redis, keys: Keys): Promise<TokenService> {
    const secret =
      config.auth.jwtSecret ??
      (await sharedSecret(redis, keys.jwtSecret(), secretBox(config), { what: 'the JWT secret', purpose: 'jwt-secret', generate: () => randomBytes(48).toString('base64url') }));
    return new TokenService(config, redis, keys, secret);
  }

  /** A new session for a user who just proved its password. */
  async login(username: string): Promise<TokenPair> {
    const session = randomUUID();
    const now = Date.now();
    const endsAt = now + this.config.auth.refreshTtlSeconds * 1000;
    await this.redis.multi().hset(this.keys.refreshFamily(session), { username, started: String(now), revoked: '0' }).pexpireat(this.keys.refreshFamily(session), endsAt).exec();
    return this.issue(username, session, endsAt);
  }

  /** Hands out an access token and the session's next refresh token. */
  private async issue(username: string, session: string, sessionEndsAt: number): Promise<TokenPair> {
    const { issuer, audience, accessTtlSeconds } = this.config.auth;
    const token = jwt.sign({ typ: 'access', fam: session, ims: Date.now() }, this.secret, {
      algorithm: 'HS256',
      subject: username,
      issuer,
      audience,
      expiresIn: accessTtlSeconds,
      jwtid: randomBytes(8).toString('hex'),
    });
    const refresh = REFRESH_PREFIX + randomBytes(32).toString('base64url');
    const key = this.keys.refreshToken(digest(refresh));
    await this.redis.multi().hset(key, { session, username, spent: '0' }).pexpireat(key, sessionEndsAt).exec();
    return { token, refresh_token: refresh, expires_in: accessTtlSeconds, token_type: 'Bearer' };
  }

  /** Checks signature, algorithm, issuer, audience and the required claims; remembers a good token's claims. */
  verifyAccess(token: string): AccessClaims {
    let claims = this.verified.get(token);
    if (!claims) {
      let raw: Claims;
      try {
        raw = jwt.verify(token, this.secret, { algorithms: ['HS256'], issuer: this.config.auth.issuer, audience: this.config.auth.audience }) as Claims;
      } catch (err) {
        const why = whyRefused(err as Error, token);
        throw (err as Error).name === 'TokenExpiredError' ? new CredentialLapsedError(why) : new UnauthorizedError(why);
      }
      if (typeof raw.exp !== 'number') throw new UnauthorizedError('the token has no exp claim');
      if (typeof raw.iat !== 'number') throw new UnauthorizedError('the token has no iat claim');
      if (typeof raw.sub !== 'string' || raw.sub.length === 0) throw new UnauthorizedError('the token has no sub claim');
      if (raw.typ !== 'access') throw new UnauthorizedError('an access token is required');
      if (typeof raw.fam !== 'string') throw new UnauthorizedError('the token names no session');
      claims = { username: raw.sub, session: raw.fam, issuedAtMs: typeof raw.ims === 'number' ? raw.ims : raw.iat * 1000, expMs: raw.exp * 1000 };
      if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
      this.verified.set(token, claims);
    }
    if (claims.expMs <= Date.now()) {
      this.verified.delete(token);
      throw new CredentialLapsedError('the token has expired');
    }
    return claims;
  }

  /** Spends a refresh token. The caller checks the user before handing out new tokens with `continueSession`. */
  async spend(refreshToken: string): Promise<RefreshOutcome> {
    if (!refreshToken.startsWith(REFRESH_PREFIX) || refreshToken.length > 200) return { outcome: 'unknown' };
    const key = this.keys.refreshToken(digest(refreshToken));
    const [session, username] = await this.redis.hmget(key, 'session', 'username');
    if (session === null || username === null) return { outcome: 'unknown' };
    const [outcome, started] = (await this.spendRefresh(key, this.keys.refreshFamily(session))) as [string, string?];
    if (outcome === 'ok') return { outcome: 'ok', username, session, sessionStartedMs: Number(started) };
    if (outcome === 'reused') return { outcome: 'reused', username, session };
    return { outcome: outcome === 'unknown' ? 'unknown' : 'ended' };
  }

  /** Whose session a refresh token belongs to, without spending it. */
  async sessionOf(refreshToken: string): Promise<{ username: string; session: string } | null> {
    if (!refreshToken.startsWith(REFRESH_PREFIX) || refreshToken.length > 200) return null;
    const [session, username] = await this.redis.hmget(this.keys.refreshToken(digest(refreshToken)), 'session', 'username');
    return session === null || username === null ? null : { username, session };
  }

  /** The next pair of a session whose refresh token was just spent. */
  async continueSession(username: string, session: string): Promise<TokenPair> {
    const ttl = await this.redis.pttl(this.keys.refreshFamily(session));
    if (ttl <= 0) throw new CredentialLapsedError('the session has ended');
    return this.issue(username, session, Date.now() + ttl);
  }

  /** Ends a session: its access tokens and refresh tokens stop working on every replica. */
  async endSession(session: string): Promise<void> {
    // Only an open session: a write to one already expired would keep its key forever.
    if (await this.redis.exists(this.keys.refreshFamily(session))) await this.redis.hset(this.keys.refreshFamily(session), 'revoked', '1');
  }
}

/** jsonwebtoken's reason, in the engine's words (never echoing the token). */
function whyRefused(err: Error, token: string): string {
  if (token.startsWith(REFRESH_PREFIX)) return 'a refresh token cannot be used as an access token';
  if (err.name === 'TokenExpiredError') return 'the token has expired';
  if (err.name === 'NotBeforeError') return 'the token is not yet valid';
  const m = err.message;
  if (m.startsWith('jwt audience invalid')) return "the token's audience is wrong";
  if (m.startsWith('jwt issuer invalid')) return "the token's issuer is wrong";
  if (m === 'invalid algorithm' || m === 'jwt signature is required') return "the token's algorithm must be HS256 (or RS256 from the configured external issuer)";
  if (m === 'invalid signature') return "the token's signature is not valid";
  if (m === 'jwt malformed' || m.startsWith('invalid token')) return 'the token is not a well-formed JWT';
  return 'the token is not valid';
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
