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
import type { Config } from '../config.js';
import { JwksKeyError, jwksKeysAt } from '../auth/jwks-keys.js';
import { EngineError, ErrorCodes } from '../../common/errors.js';
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
/** Clocks of droplets on different machines drift a little. */
const CLOCK_TOLERANCE_SECONDS = 30;

export class MessageSignatureVerifier {
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
    try {
      return await jwksKeysAt(jwksUrl, FETCH_TIMEOUT_MS).publicKeyFor(kid);
    } catch (err) {
      const failure = err instanceof JwksKeyError ? err.failure : 'unreachable';
      if (failure === 'unknown_key') throw new MessageSignatureError("Message signature's key is not one the sender publishes");
      if (failure === 'rate_limited') throw new MessageSignatureError("Message signature's key could not be looked up right now; try again later");
      throw new MessageSignatureError("Message signature could not be checked: the sender's JWKS could not be read");
    }
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
