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
import jwksRsa from 'jwks-rsa';
import { ROLES, type Role } from '../config.js';
import { UnauthorizedError } from '../errors.js';
import type { Identity } from './identity.js';

export interface ExternalTokenSettings {
  jwksUrl: string;
  issuer: string;
  audience: string;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5000;
/** Long enough that verifying is a memory lookup; short enough that a revoked key ages out. */
const KEY_CACHE_MAX_AGE_MS = 10 * 60 * 1000;
const KEY_CACHE_MAX_ENTRIES = 20;
/** Each unknown `kid` costs a JWKS fetch; this caps what a flood of made-up kids can cost the issuer. */
const JWKS_FETCHES_PER_MINUTE = 10;
/** A JWKS document is a few KiB; anything far larger is not one and is not worth buffering. */
const MAX_JWKS_BYTES = 1024 * 1024;
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
  private readonly client: jwksRsa.JwksClient;
  private readonly timeoutMs: number;
  /**
   * The kids of the newest JWKS fetched. jwks-rsa caches each key by kid for
   * KEY_CACHE_MAX_AGE_MS, so a key the issuer has since withdrawn would still verify from the
   * cache; checking against the newest published set makes a withdrawal count as soon as any
   * refetch (an unknown kid, an expired entry) has seen it.
   */
  private publishedKids: ReadonlySet<string> = new Set();
  private fetchesStarted = 0;
  private newestFetchApplied = 0;

  constructor(private readonly settings: ExternalTokenSettings) {
    const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError('ExternalTokenSettings.timeoutMs must be a positive number');
    const url = new URL(settings.jwksUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('ExternalTokenSettings.jwksUrl must be an http(s) URL');
    this.timeoutMs = timeoutMs;
    this.client = new jwksRsa.JwksClient({
      jwksUri: settings.jwksUrl,
      cache: true,
      cacheMaxAge: KEY_CACHE_MAX_AGE_MS,
      cacheMaxEntries: KEY_CACHE_MAX_ENTRIES,
      rateLimit: true,
      jwksRequestsPerMinute: JWKS_FETCHES_PER_MINUTE,
      // jwks-rsa's own `timeout` is a socket idle timeout: an endpoint that trickles bytes, or
      // stalls after its headers, would never trip it. Our fetcher bounds the whole exchange.
      fetcher: (uri) => this.fetchJwks(uri),
    });
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
      throw new UnauthorizedError(reasonForVerifyError(err));
    }
    if (typeof payload !== 'object' || payload === null) throw new UnauthorizedError(REASON.invalid);
    if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) throw new UnauthorizedError(REASON.noExp);
    if (typeof payload.iat !== 'number' || !Number.isFinite(payload.iat)) throw new UnauthorizedError(REASON.noIat);
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new UnauthorizedError(REASON.noSub);
    return identityFromClaims(payload.sub, payload);
  }

  private async publicKeyFor(kid: string): Promise<string> {
    let key: jwksRsa.SigningKey;
    try {
      key = await withDeadline(this.client.getSigningKey(kid), this.timeoutMs + 1000);
    } catch (err) {
      throw new UnauthorizedError(reasonForKeyError(err));
    }
    if (!this.publishedKids.has(kid)) throw new UnauthorizedError(REASON.unknownKey);
    // A JWK that says it is for another algorithm is not the issuer's RS256 key, whatever its type.
    if (key.alg !== undefined && key.alg !== 'RS256') throw new UnauthorizedError(REASON.unknownKey);
    return key.getPublicKey();
  }

  private async fetchJwks(uri: string): Promise<{ keys: unknown[] }> {
    const sequence = ++this.fetchesStarted;
    const res = await fetch(uri, { signal: AbortSignal.timeout(this.timeoutMs), headers: { accept: 'application/json' } });
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new Error(`the JWKS endpoint answered HTTP ${res.status}`);
    }
    const body: unknown = JSON.parse(await readCapped(res, MAX_JWKS_BYTES));
    const keys = (body as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) throw new Error('the JWKS endpoint did not answer a key set');
    // Two fetches in flight may finish out of order; the later-started one is the newer view.
    if (sequence > this.newestFetchApplied) {
      this.newestFetchApplied = sequence;
      this.publishedKids = new Set(
        keys.map((k) => (k as { kid?: unknown } | null)?.kid).filter((k): k is string => typeof k === 'string'),
      );
    }
    return { keys };
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
  const e = err as { name?: string; isEndpointUnavailable?: boolean } | null;
  if (e?.name === 'SigningKeyNotFoundError') return REASON.unknownKey;
  if (e?.name === 'JwksRateLimitError') return REASON.rateLimited;
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

async function readCapped(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new Error('the JWKS document is too large');
  }
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new Error('the JWKS document is too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Belt and braces over the fetch's own timeout: whatever jwks-rsa queues internally, a request never hangs. */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the JWKS lookup timed out')), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
