import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Redis } from 'ioredis';
import type { Config, Role } from '../config.js';
import { UnauthorizedError } from '../errors.js';
import type { Keys } from '../keys.js';
import type { AuthenticatedUser } from './users.js';

export interface TokenPair {
  token: string;
  refresh_token: string;
  expires_in: number;
}

interface Claims {
  sub: string;
  role: Role;
  typ: 'access' | 'refresh';
  exp: number;
}

const CACHE_LIMIT = 10000;

/**
 * HS256 access and refresh tokens. Verification always checks the signature, algorithm,
 * expiry, issuer and audience. A token verified once is remembered (up to CACHE_LIMIT)
 * so the hot path skips the HMAC, but its expiry is still checked on every use.
 */
export class TokenService {
  private readonly verified = new Map<string, Claims>();

  private constructor(
    private readonly config: Config,
    private readonly secret: string,
  ) {}

  /** The secret is JWT_SECRET, or one generated on first start and shared through Redis. */
  static async create(config: Config, redis: Redis, keys: Keys): Promise<TokenService> {
    let secret = config.auth.jwtSecret;
    if (secret === null) {
      await redis.set(keys.jwtSecret(), randomBytes(48).toString('base64url'), 'NX');
      secret = (await redis.get(keys.jwtSecret()))!;
    }
    return new TokenService(config, secret);
  }

  issue(user: AuthenticatedUser): TokenPair {
    const { issuer, audience, accessTtlSeconds, refreshTtlSeconds } = this.config.auth;
    const sign = (typ: Claims['typ'], ttl: number) =>
      jwt.sign({ role: user.role, typ }, this.secret, {
        algorithm: 'HS256',
        subject: user.username,
        issuer,
        audience,
        expiresIn: ttl,
        jwtid: randomBytes(8).toString('hex'),
      });
    return { token: sign('access', accessTtlSeconds), refresh_token: sign('refresh', refreshTtlSeconds), expires_in: accessTtlSeconds };
  }

  verify(token: string, typ: Claims['typ']): AuthenticatedUser {
    let claims = this.verified.get(token);
    if (!claims) {
      try {
        claims = jwt.verify(token, this.secret, {
          algorithms: ['HS256'],
          issuer: this.config.auth.issuer,
          audience: this.config.auth.audience,
        }) as Claims;
      } catch (err) {
        const reason = (err as Error).name === 'TokenExpiredError' ? 'the token has expired' : 'the token is not valid';
        throw new UnauthorizedError(reason);
      }
      if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
      this.verified.set(token, claims);
    }
    if (claims.exp * 1000 <= Date.now()) {
      this.verified.delete(token);
      throw new UnauthorizedError('the token has expired');
    }
    if (claims.typ !== typ) throw new UnauthorizedError(`a ${typ} token is required`);
    return { username: claims.sub, role: claims.role };
  }
}
