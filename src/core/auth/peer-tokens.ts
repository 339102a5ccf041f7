/**
 * Bearer tokens a peer droplet (MESH_PEERS) makes for itself when it has no token from the
 * registry (DropletSigner.bearerFor): so two engines that list each other can message each
 * other with no registry in between.
 *
 * Accepted only when all of these hold:
 * - the header says RS256 and names a `kid` the peer publishes now at its `jwks_url`;
 * - `sub` names the peer (its id or its name), and the signature verifies with that peer's key:
 *   the key is chosen by the claimed subject, so a token can only speak for the droplet whose
 *   key signed it;
 * - `aud` is this droplet's id or name; `exp` and `iat` present and `exp` not passed.
 *
 * The identity: an external caller `droplet:<name>` that may post to /message and, in the
 * workspaces its MESH_PEERS entry lists, holds the roles given there (a command it sends is
 * checked against those like any caller's request).
 */
import jwt from 'jsonwebtoken';
import type { DropletSettings } from '../config.js';
import { CredentialLapsedError, UnauthorizedError } from '../../common/errors.js';
import { resolvePeer, type MeshPeer } from '../udc/peers.js';
import type { Identity } from './identity.js';
import { JwksKeyError, jwksKeysAt } from './jwks-keys.js';

/** Clocks of droplets on different machines drift a little. */
const CLOCK_TOLERANCE_SECONDS = 30;
const JWKS_TIMEOUT_MS = 3000;

export class PeerTokenVerifier {
  constructor(private readonly config: { droplet: Pick<DropletSettings, 'id' | 'name' | 'meshPeers'> }) {}

  /** The listed peer an (unverified) token's `sub` names, or null: then the token is not a peer's. */
  claimedPeer(token: string): MeshPeer | null {
    let sub: unknown;
    try {
      sub = (jwt.decode(token) as jwt.JwtPayload | null)?.sub;
    } catch {
      return null;
    }
    return typeof sub === 'string' && sub !== '' ? resolvePeer(this.config, sub) : null;
  }

  async verify(token: string, peer: MeshPeer): Promise<Identity> {
    let header: jwt.JwtHeader | undefined;
    try {
      header = jwt.decode(token, { complete: true })?.header;
    } catch {
      header = undefined;
    }
    if (header?.alg !== 'RS256') throw new UnauthorizedError("the peer's token must be RS256");
    if (typeof header.kid !== 'string' || header.kid === '') throw new UnauthorizedError("the peer's token has no key id (kid)");
    let publicKey: string;
    try {
      publicKey = await jwksKeysAt(peer.jwksUrl, JWKS_TIMEOUT_MS).publicKeyFor(header.kid);
    } catch (err) {
      const failure = err instanceof JwksKeyError ? err.failure : 'unreachable';
      throw new UnauthorizedError(failure === 'unknown_key' ? `the token's signing key is not one droplet '${peer.name}' publishes` : `droplet '${peer.name}''s keys could not be read to check its token`);
    }
    let claims: string | jwt.JwtPayload;
    try {
      claims = jwt.verify(token, publicKey, {
        algorithms: ['RS256'],
        audience: [String(this.config.droplet.id), this.config.droplet.name],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
    } catch (err) {
      const e = err as { name?: string; message?: string };
      if (e.name === 'TokenExpiredError') throw new CredentialLapsedError("the peer's token has expired");
      if (e.message?.startsWith('jwt audience invalid')) throw new UnauthorizedError("the peer's token is for another droplet (aud)");
      throw new UnauthorizedError("the peer's token is not valid");
    }
    if (typeof claims !== 'object' || claims === null) throw new UnauthorizedError("the peer's token is not valid");
    if (typeof claims.exp !== 'number') throw new UnauthorizedError("the peer's token has no exp claim");
    if (typeof claims.iat !== 'number') throw new UnauthorizedError("the peer's token has no iat claim");
    // `sub` picked the key; checked again here on the verified claims, not the decoded ones.
    if (resolvePeer(this.config, String(claims.sub)) !== peer) throw new UnauthorizedError("the peer's token names another droplet (sub)");
    return { kind: 'external', username: `droplet:${peer.name}`, admin: false, workspaces: peer.workspaces, grants: ['mesh_message'] };
  }
}
