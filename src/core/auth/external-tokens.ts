/**
 * External callers: RS256 tokens signed by a trusted issuer (the mesh registry), whose public
 * keys are published at a JWKS endpoint.
 *
 * Claims → identity
 * - `sub` (required, a non-empty string) becomes the username; the identity's kind is `external`.
 * - `role`: one of `admin`, `operator`, `developer`, `viewer`. Absent means `viewer`; any other
 *   value (including `null` or a non-string) rejects the token with a 401.
 * - `workspaces`: absent means no workspaces. Either an array of workspace names, each held with
 *   `role`, e.g. `{"role": "operator", "workspaces": ["web", "batch"]}`; or an object mapping
 *   each workspace name to its own role, e.g. `{"workspaces": {"web": "admin", "batch": "viewer"}}`
 *   (each value must be one of the four roles). Any other shape rejects the token.
 *   Workspace names must match `^[a-z0-9][a-z0-9_-]{0,62}$`, otherwise the token is rejected.
 * - `role: "admin"` with no `workspaces` claim is a global admin (every workspace, every
 *   permission). `role: "admin"` with a `workspaces` claim — even an empty one — is an admin of
 *   the listed workspaces only: the claim's presence, not its size, decides, so an issuer that
 *   scopes a token can never widen it to global by scoping it to nothing.
 * - Required besides `sub`: `exp` and `iat` (numbers); `iss` and `aud` must equal the configured
 *   issuer and audience; `nbf`, when present, must have passed. The header must say
 *   `alg: RS256` and carry a `kid` that the issuer's JWKS currently publishes.
 *
 * The identity comes from the token alone: an external caller has no record here, so a demotion
 * takes effect when the issuer stops issuing the old claims and the old tokens expire.
 */
import jwt from 'jsonwebtoken';
import { ROLES, type Role } from '../config.js';
import { CredentialLapsedError, UnauthorizedError } from '../../common/errors.js';
import type { Identity } from './identity.js';
import { JwksKeyError, JwksKeys } from './jwks-keys.js';

export interface ExternalTokenSettings {
  jwksUrl: string;
  issuer: string;
  audience: string;
  timeoutMs?: number;
}

const WORKSPACE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const REASON = {
  malformed: 'the token is not a well-formed JWT',
  algorithm: 'the token\'s algorithm must be RS256',
  noKid: 'the token has no key id (kid)',
  unknownKey: 'the token\'s signing key is unknown',
  rateLimited: 'the token\'s signing key could not be looked up right now; try again later',
  unreachable: 'the token\'s issuer could not be reached',
  signature: 'the token\'s signature is not valid',
  expired: 'the token has expired',
  notYetValid: 'the token is not yet valid',
  audience: 'the token\'s audience is wrong',
  issuer: 'the token\'s issuer is wrong',
  invalid: 'the token is not valid',
  noExp: 'the token has no exp claim',
  noIat: 'the token has no iat claim',
  noSub: 'the token has no sub claim',
  role: `the token's role claim must be one of ${ROLES.join(', ')}`,
  workspaces: 'the token\'s workspaces claim must be a list of workspace names or an object of workspace name to role',
  workspaceName: 'the token names a workspace that is not a valid workspace name',
} as const;

export class ExternalTokenVerifier {
  private readonly keys: JwksKeys;

  constructor(private readonly settings: ExternalTokenSettings) {
    this.keys = new JwksKeys(settings.jwksUrl, settings.timeoutMs);
  }

  /** Whether a token (unverified) says this issuer made it: the Authenticator's routing, never a check. */
  issues(token: string): boolean {
    try {
      return (jwt.decode(token) as jwt.JwtPayload | null)?.iss === this.settings.issuer;
    } catch {
      return false;
    }
  }

  async verify(token: string): Promise<Identity> {
    const header = decodeHeader(token);
    // Refused before any key lookup: `none` needs no key, and HS256 would treat the issuer's
    // public key (which anyone can fetch) as an HMAC secret.
    if (header.alg !== 'RS256') throw new UnauthorizedError(REASON.algorithm);
    const kid = header.kid;
    if (typeof kid !== 'string' || kid === '') throw new UnauthorizedError(REASON.noKid);

    const publicKey = await this.publicKeyFor(kid);

    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, publicKey, {
        algorithms: ['RS256'],
        issuer: this.settings.issuer,
        audience: this.settings.audience,
      });
    } catch (err) {
      throw (err as { name?: string } | null)?.name === 'TokenExpiredError' ? new CredentialLapsedError(REASON.expired) : new UnauthorizedError(reasonForVerifyError(err));
    }
    if (typeof payload !== 'object' || payload === null) throw new UnauthorizedError(REASON.invalid);
    if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) throw new UnauthorizedError(REASON.noExp);
    if (typeof payload.iat !== 'number' || !Number.isFinite(payload.iat)) throw new UnauthorizedError(REASON.noIat);
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new UnauthorizedError(REASON.noSub);
    return identityFromClaims(payload.sub, payload);
  }

  private async publicKeyFor(kid: string): Promise<string> {
    try {
      return await this.keys.publicKeyFor(kid);
    } catch (err) {
      throw err instanceof JwksKeyError && err.failure === 'unknown_key' ? new UnauthorizedError(reasonForKeyError(err)) : new CredentialLapsedError(reasonForKeyError(err));
    }
  }
}

function decodeHeader(token: string): jwt.JwtHeader {
  if (typeof token !== 'string' || token === '') throw new UnauthorizedError(REASON.malformed);
  let decoded: jwt.Jwt | null;
  try {
    decoded = jwt.decode(token, { complete: true });
  } catch {
    decoded = null;
  }
  if (!decoded || typeof decoded.header !== 'object' || decoded.header === null) throw new UnauthorizedError(REASON.malformed);
  return decoded.header;
}

function reasonForKeyError(err: unknown): string {
  const failure = err instanceof JwksKeyError ? err.failure : 'unreachable';
  if (failure === 'unknown_key') return REASON.unknownKey;
  if (failure === 'rate_limited') return REASON.rateLimited;
  // The endpoint down, slow, answering an error or something that is not a usable key set.
  return REASON.unreachable;
}

function reasonForVerifyError(err: unknown): string {
  const e = err as { name?: string; message?: string } | null;
  if (e?.name === 'TokenExpiredError') return REASON.expired;
  if (e?.name === 'NotBeforeError') return REASON.notYetValid;
  const message = e?.message ?? '';
  if (message === 'invalid signature') return REASON.signature;
  if (message.startsWith('jwt audience invalid')) return REASON.audience;
  if (message.startsWith('jwt issuer invalid')) return REASON.issuer;
  if (message === 'invalid algorithm') return REASON.algorithm;
  if (message === 'jwt malformed' || message === 'invalid token' || message === 'jwt signature is required') return REASON.malformed;
  return REASON.invalid;
}

function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

function identityFromClaims(sub: string, claims: jwt.JwtPayload): Identity {
  const claimed: unknown = claims.role;
  if (claimed !== undefined && !isRole(claimed)) throw new UnauthorizedError(REASON.role);
  const role: Role = claimed ?? 'viewer';

  const listed: unknown = claims.workspaces;
  // No prototype: a workspace named e.g. `constructor` must not find Object.prototype's member.
  const workspaces: Record<string, Role> = Object.create(null) as Record<string, Role>;
  if (Array.isArray(listed)) {
    for (const name of listed) {
      if (typeof name !== 'string' || !WORKSPACE_NAME.test(name)) throw new UnauthorizedError(REASON.workspaceName);
      workspaces[name] = role;
    }
  } else if (typeof listed === 'object' && listed !== null) {
    for (const [name, workspaceRole] of Object.entries(listed)) {
      if (!WORKSPACE_NAME.test(name)) throw new UnauthorizedError(REASON.workspaceName);
      if (!isRole(workspaceRole)) throw new UnauthorizedError(REASON.role);
      workspaces[name] = workspaceRole;
    }
  } else if (listed !== undefined) {
    throw new UnauthorizedError(REASON.workspaces);
  }

  return {
    kind: 'external',
    username: sub,
    admin: role === 'admin' && listed === undefined,
    workspaces: Object.freeze(workspaces),
  };
}
