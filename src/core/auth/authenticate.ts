import jwt from 'jsonwebtoken';
import { CredentialLapsedError, UnauthorizedError } from '../../common/errors.js';
import { narrowTo, type ApiKeyStore } from './api-keys.js';
import type { ExternalTokenVerifier } from './external-tokens.js';
import type { PeerTokenVerifier } from './peer-tokens.js';
import type { Identity } from './identity.js';
import type { TokenService } from './tokens.js';
import type { UserDirectory } from './users.js';

/** The request headers a caller proves itself with. */
export interface Credentials {
  authorization?: string;
  apiKey?: string;
}

/** The principal named by a failed attempt, as far as it can be told, for the audit log. */
export class AuthenticationFailed extends UnauthorizedError {
  constructor(
    message: string,
    readonly claimed: { kind: Identity['kind'] | 'anonymous'; name: string; keyId?: string },
    /** The refusal it stands for, whose `lapsed` it keeps (see UnauthorizedError). */
    cause?: unknown,
  ) {
    super(message, { lapsed: cause instanceof UnauthorizedError && cause.lapsed });
  }
}

/**
 * Turns a request's credentials into who asks, from the current records: a bearer token of
 * this engine (HS256), of the trusted external issuer (RS256 through JWKS) or of a peer
 * droplet (RS256 through its own JWKS, see peer-tokens.ts), or an API key
 * (`X-API-Key`). Every failure is a 401 saying why, never which secret was tried.
 */
export class Authenticator {
  constructor(
    private readonly tokens: TokenService,
    private readonly users: UserDirectory,
    private readonly apiKeys: ApiKeyStore,
    private readonly external: ExternalTokenVerifier | null,
    private readonly peers: PeerTokenVerifier | null = null,
  ) {}

  async authenticate(credentials: Credentials): Promise<Identity> {
    if (credentials.apiKey !== undefined) return this.byApiKey(credentials.apiKey);
    if (credentials.authorization === undefined) {
      throw new AuthenticationFailed('the Authorization header is missing; send "Bearer <token>" or an X-API-Key', { kind: 'anonymous', name: 'anonymous' });
    }
    const match = /^Bearer\s+(\S+)$/i.exec(credentials.authorization);
    if (!match) throw new AuthenticationFailed('the Authorization header must be "Bearer <token>"', { kind: 'anonymous', name: 'anonymous' });
    return this.byToken(match[1]!);
  }

  private async byToken(token: string): Promise<Identity> {
    // Read unverified: which verifier to ask. Whom to name should it fail is read only then:
    // decoding the whole token costs every request more than verifying a cached one.
    const alg = claimedAlg(token);
    const claimedSub = (): string => unverifiedSubject(decodeUnverified(token));
    // A peer droplet's own token: its `sub` names a MESH_PEERS entry and its issuer is not the
    // registry (whose tokens may name a droplet as their subject too).
    const peer = alg === 'RS256' && this.peers && !this.external?.issues(token) ? this.peers.claimedPeer(token) : null;
    if (peer) {
      try {
        return await this.peers!.verify(token, peer);
      } catch (err) {
        throw new AuthenticationFailed((err as Error).message, { kind: 'external', name: claimedSub() }, err);
      }
    }
    if (alg === 'RS256' && this.external) {
      try {
        return await this.external.verify(token);
      } catch (err) {
        throw new AuthenticationFailed((err as Error).message, { kind: 'external', name: claimedSub() }, err);
      }
    }
    let claims;
    try {
      claims = this.tokens.verifyAccess(token);
    } catch (err) {
      throw new AuthenticationFailed((err as Error).message, { kind: 'user', name: claimedSub() }, err);
    }
    const { identity, sessionOpen } = await this.users.identityInSession(claims.username, claims.issuedAtMs, claims.session);
    const who = { kind: 'user' as const, name: claims.username };
    if (!identity) throw new AuthenticationFailed("the token's user does not exist, is disabled, or has signed in again since", who);
    if (!sessionOpen) throw new AuthenticationFailed('the session has ended; log in again', who, new CredentialLapsedError('the session has ended'));
    return { ...identity, session: claims.session };
  }

  private async byApiKey(raw: string): Promise<Identity> {
    const record = await this.apiKeys.authenticate(raw);
    if (!record) throw new AuthenticationFailed('the API key is not valid or has been revoked', { kind: 'api_key', name: 'unknown' });
    const owner = await this.users.ownerIdentity(record.user_id);
    const who = { kind: 'api_key' as const, name: record.user_id, keyId: record.id };
    if (!owner) throw new AuthenticationFailed("the API key's user does not exist or is disabled", who);
    return narrowTo(owner, record);
  }
}

/** The `alg` a token's header names, before it is verified; undefined when its header is not a JSON object. */
function claimedAlg(token: string): unknown {
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8')) as unknown;
    return header !== null && typeof header === 'object' ? (header as { alg?: unknown }).alg : undefined;
  } catch {
    return undefined;
  }
}

/** A token's header and claims before it is verified; null when it is not a JWT at all. */
function decodeUnverified(token: string): jwt.Jwt | null {
  try {
    return jwt.decode(token, { complete: true }) as jwt.Jwt | null;
  } catch {
    return null;
  }
}

/** The `sub` a token claims before it is verified: only ever used to name a failure in the audit log. */
function unverifiedSubject(unverified: jwt.Jwt | null): string {
  const payload = unverified?.payload;
  const sub = payload !== null && typeof payload === 'object' ? payload.sub : undefined;
  return typeof sub === 'string' ? sub.slice(0, 64) : 'unknown';
}
