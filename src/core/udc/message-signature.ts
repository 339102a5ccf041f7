/**
 * The second half of a mesh message's dual authentication (the bearer token is the first):
 * its `signature` must be a compact RS256 JWS its sender made with `DropletSigner.signMessage`
 * (or the same claims by any UDC droplet), checked against the sender's published keys.
 *
 * - The keys: the JWKS of the peer `source` names (MESH_PEERS' `jwks_url`); a sender this
 *   droplet does not list is checked against the mesh registry's JWKS (JWKS_URL), which
 *   publishes the keys of the droplets it registered. Neither: the message is refused.
 * - The claims: `aud` is this droplet's id (or its name, as `target` may say); `exp` and `iat` present, not expired; `sub` names
 *   the sender as `source` does (its id or, for a listed peer, its name); `jti` is the
 *   message's `trace_id`; `digest` is the SHA-256 of the message as received, so a payload
 *   changed in transit, or a signature lifted onto another message, does not verify.
 */
import jwt from 'jsonwebtoken';
import jwksRsa from 'jwks-rsa';
import type { Config } from '../config.js';
import { EngineError, ErrorCodes } from '../errors.js';
import { resolvePeer } from './peers.js';
import { messageDigest, type UdcMessage } from './signing.js';

export class MessageSignatureError extends EngineError {
  constructor(message: string) {
    super(ErrorCodes.MESSAGE_SIGNATURE_INVALID, message);
  }
}

/** The seed's own words for a message without one. */
export const SIGNATURE_REQUIRED = 'Message signature required';

const FETCH_TIMEOUT_MS = 3000;
const KEY_CACHE_MAX_AGE_MS = 10 * 60 * 1000;
/** Each unknown `kid` costs a fetch of the sender's JWKS; this bounds what forged kids can cost it. */
const JWKS_FETCHES_PER_MINUTE = 10;
const MAX_JWKS_BYTES = 256 * 1024;
/** Clocks of droplets on different machines drift a little. */
const CLOCK_TOLERANCE_SECONDS = 30;

export class MessageSignatureVerifier {
  private readonly clients = new Map<string, jwksRsa.JwksClient>();

  constructor(private readonly config: Pick<Config, 'droplet' | 'auth'>) {}

  /** Resolves when `message.signature` is valid for this message; throws MessageSignatureError saying why not. */
  async verify(message: UdcMessage): Promise<void> {
    const token = message.signature;
    if (typeof token !== 'string' || token === '') throw new MessageSignatureError(SIGNATURE_REQUIRED);
    let decoded: jwt.Jwt | null = null;
    try {
      decoded = jwt.decode(token, { complete: true });
    } catch {
      decoded = null;
    }
    if (!decoded || typeof decoded.header !== 'object') throw new MessageSignatureError('Message signature is not a compact JWS');
    // Refused before any key lookup: `none` needs no key, and HS256 would take a public key as its secret.
    if (decoded.header.alg !== 'RS256') throw new MessageSignatureError('Message signature must be RS256');
    const kid = decoded.header.kid;
    if (typeof kid !== 'string' || kid === '') throw new MessageSignatureError('Message signature has no key id (kid)');

    const peer = resolvePeer(this.config, message.source);
    const jwksUrl = peer?.jwksUrl ?? this.config.auth.jwks?.url ?? null;
    if (jwksUrl === null) throw new MessageSignatureError(`Message source '${String(message.source)}' is not a known peer and no registry JWKS is configured to verify it`);
    const publicKey = await this.keyFor(jwksUrl, kid);

    let claims: string | jwt.JwtPayload;
    try {
      claims = jwt.verify(token, publicKey, { algorithms: ['RS256'], audience: [String(this.config.droplet.id), this.config.droplet.name], clockTolerance: CLOCK_TOLERANCE_SECONDS });
    } catch (err) {
      throw new MessageSignatureError(verifyFailure(err));
    }
    if (typeof claims !== 'object' || claims === null) throw new MessageSignatureError('Message signature carries no claims');
    if (typeof claims.exp !== 'number') throw new MessageSignatureError('Message signature has no exp claim');
    if (typeof claims.iat !== 'number') throw new MessageSignatureError('Message signature has no iat claim');
    const senders = peer ? [String(peer.id), peer.name] : [String(message.source)];
    if (typeof claims.sub !== 'string' || !senders.includes(claims.sub)) throw new MessageSignatureError('Message signature was made by another sender than the message\'s source');
    if (claims.jti !== message.trace_id) throw new MessageSignatureError('Message signature was made for another trace_id');
    if (claims.digest !== messageDigest(message)) throw new MessageSignatureError('Message signature does not match the message (changed after it was signed)');
  }

  private async keyFor(jwksUrl: string, kid: string): Promise<string> {
    let client = this.clients.get(jwksUrl);
    if (!client) {
      client = new jwksRsa.JwksClient({
        jwksUri: jwksUrl,
        cache: true,
        cacheMaxAge: KEY_CACHE_MAX_AGE_MS,
        cacheMaxEntries: 20,
        rateLimit: true,
        jwksRequestsPerMinute: JWKS_FETCHES_PER_MINUTE,
        fetcher: fetchJwks,
      });
      this.clients.set(jwksUrl, client);
    }
    let key: jwksRsa.SigningKey;
    try {
      key = await withDeadline(client.getSigningKey(kid), FETCH_TIMEOUT_MS + 1000);
    } catch (err) {
      const name = (err as { name?: string } | null)?.name;
      if (name === 'SigningKeyNotFoundError') throw new MessageSignatureError("Message signature's key is not one the sender publishes");
      if (name === 'JwksRateLimitError') throw new MessageSignatureError("Message signature's key could not be looked up right now; try again later");
      throw new MessageSignatureError("Message signature could not be checked: the sender's JWKS could not be read");
    }
    if (key.alg !== undefined && key.alg !== 'RS256') throw new MessageSignatureError("Message signature's key is not an RS256 key");
    return key.getPublicKey();
  }
}

function verifyFailure(err: unknown): string {
  const e = err as { name?: string; message?: string } | null;
  if (e?.name === 'TokenExpiredError') return 'Message signature has expired';
  if (e?.name === 'NotBeforeError') return 'Message signature is not yet valid';
  const message = e?.message ?? '';
  if (message === 'invalid signature') return 'Message signature is not valid';
  if (message.startsWith('jwt audience invalid')) return 'Message signature is for another droplet (aud)';
  return 'Message signature is not valid';
}

/** A sender's JWKS, read whole within a deadline and a size cap: a slow or huge answer is not a key set. */
async function fetchJwks(uri: string): Promise<{ keys: unknown[] }> {
  const res = await fetch(uri, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' }, redirect: 'error' });
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new Error(`the JWKS endpoint answered HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > MAX_JWKS_BYTES) {
    await res.body?.cancel().catch(() => {});
    throw new Error('the JWKS document is too large');
  }
  const text = await res.text();
  if (text.length > MAX_JWKS_BYTES) throw new Error('the JWKS document is too large');
  const keys = (JSON.parse(text) as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('the JWKS endpoint did not answer a key set');
  return { keys };
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the JWKS lookup timed out')), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
