/**
 * The droplet's signing identity: one RSA-2048 key pair every process of this engine shares.
 * Peers verify what it signs (mesh messages, proofs, the tokens it mints for itself) with the
 * public half, published at `GET /.well-known/jwks.json`.
 *
 * The private key comes from DROPLET_SIGNING_KEY_FILE (PEM, refused when its group or others may
 * read it) or is made the first time any process asks and kept in Redis sealed by the secret
 * box (SET NX, then read back: processes starting at once agree on one key).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import { ConfigError, type Config } from '../config.js';
import type { Keys } from '../keys.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { sharedSecret } from '../secrets/stored-secret.js';

export const MESSAGE_TYPES = ['event', 'query', 'command', 'response'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** A UDC v1.0 mesh message, as `POST /message` takes it and `/send` delivers it. */
export interface UdcMessage {
  trace_id: string;
  source: string | number;
  target: string | number;
  message_type: MessageType;
  payload: Record<string, unknown>;
  timestamp: string;
  signature?: string;
}

/** How long a message signature or a minted bearer token is good for: long enough for a retry or two, short enough to bound a replay. */
export const SIGNATURE_TTL_SECONDS = 300;
const MIN_MODULUS_BITS = 2048;

/** JSON with every object's keys sorted, no spaces: the same bytes for the same value on every side. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.keys(value as object)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/** base64url SHA-256 of the canonical JSON of a message without its `signature`: what a message JWS's `digest` claim holds. */
export function messageDigest(message: UdcMessage | Record<string, unknown>): string {
  const { signature: _signature, ...rest } = message as Record<string, unknown>;
  return createHash('sha256').update(canonicalJson(rest)).digest('base64url');
}

/** RFC 7638: the SHA-256 of the required members of the public JWK, in lexical order. */
function thumbprint(jwk: JsonWebKey): string {
  return createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n })).digest('base64url');
}

function rsaPrivateKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new ConfigError(where, `does not hold a PEM private key (${(err as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new ConfigError(where, `holds a ${key.asymmetricKeyType ?? 'non-RSA'} key; the droplet signs with RS256 and needs an RSA key`);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_MODULUS_BITS) throw new ConfigError(where, `holds a ${bits}-bit RSA key; at least ${MIN_MODULUS_BITS} bits are needed`);
  return key;
}

function readKeyFile(file: string): string {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    throw new ConfigError('DROPLET_SIGNING_KEY_FILE', `names ${file}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError('DROPLET_SIGNING_KEY_FILE', `names ${file}, which its group or others may read or write (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): the key must be its owner's alone (chmod 600 ${file})`);
  }
  return readFileSync(file, 'utf8');
}

const cache = new Map<string, Promise<DropletSigner>>();

export class DropletSigner {
  readonly kid: string;
  readonly #privateKey: KeyObject;
  readonly #publicJwk: JsonWebKey;

  private constructor(
    privateKey: KeyObject,
    private readonly droplet: Pick<Config['droplet'], 'id' | 'endpoint' | 'meshToken'>,
  ) {
    this.#privateKey = privateKey;
    const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
    this.kid = thumbprint(jwk);
    this.#publicJwk = { kty: 'RSA', n: jwk.n, e: jwk.e, kid: this.kid, alg: 'RS256', use: 'sig' } as JsonWebKey;
  }

  /** This process's signer (made once per key source and secret key; every later call is a memory lookup). */
  static load(redis: Redis, keys: Keys, config: Pick<Config, 'droplet'>, secrets: SecretBox): Promise<DropletSigner> {
    const file = config.droplet.signingKeyFile;
    const cacheKey = `${file ?? `${keys.dropletSigningKey()}@${secrets.fingerprint()}`}|${config.droplet.id}|${config.droplet.endpoint}|${config.droplet.meshToken === null ? '' : createHash('sha256').update(config.droplet.meshToken).digest('hex')}`;
    let pending = cache.get(cacheKey);
    if (!pending) {
      pending = (async () => {
        if (file !== null) return new DropletSigner(rsaPrivateKey(readKeyFile(file), 'DROPLET_SIGNING_KEY_FILE'), config.droplet);
        const pem = await sharedSecret(redis, keys.dropletSigningKey(), secrets, {
          what: "the droplet's signing key",
          purpose: 'udc-signing-key',
          generate: () => generateKeyPairSync('rsa', { modulusLength: MIN_MODULUS_BITS }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        });
        return new DropletSigner(rsaPrivateKey(pem, `Redis key ${keys.dropletSigningKey()}`), config.droplet);
      })();
      cache.set(cacheKey, pending);
      pending.catch(() => cache.delete(cacheKey));
    }
    return pending;
  }

  /** The droplet's id as the `iss`/`sub` of what it signs. */
  get subject(): string {
    return String(this.droplet.id);
  }

  /** The public key set peers verify this droplet's signatures with. */
  jwks(): { keys: JsonWebKey[] } {
    return { keys: [{ ...this.#publicJwk }] };
  }

  /**
   * A compact RS256 JWS binding the message: who sent it (iss/sub), for whom (aud), when, its
   * trace id (jti) and the digest of its canonical JSON, so any change in transit shows.
   */
  signMessage(message: UdcMessage): string {
    const iat = Math.floor(Date.now() / 1000);
    return this.sign({
      iss: this.subject,
      sub: this.subject,
      aud: String(message.target),
      iat,
      exp: iat + SIGNATURE_TTL_SECONDS,
      jti: message.trace_id,
      digest: messageDigest(message),
    });
  }

  /**
   * Signs a proof of work done. The claims carry their own time (`iat` is the completion time,
   * when given as `timestamp`), so the same proof signs to the same bytes (RS256 is
   * deterministic) and its hash is stable between calls.
   */
  signProof(claims: Record<string, unknown>): string {
    const at = typeof claims.timestamp === 'string' ? Date.parse(claims.timestamp) : Number.NaN;
    const iat = Math.floor((Number.isFinite(at) ? at : Date.now()) / 1000);
    return this.sign({ ...claims, iss: this.subject, sub: this.subject, iat, digest: createHash('sha256').update(canonicalJson(claims)).digest('base64url') });
  }

  /**
   * The bearer token for a call to a peer or the registry: MESH_TOKEN when the registry issued
   * one, otherwise a short-lived token this droplet signs for that audience alone.
   */
  bearerFor(audience: string): string {
    if (this.droplet.meshToken !== null) return this.droplet.meshToken;
    const iat = Math.floor(Date.now() / 1000);
    return this.sign({ iss: this.droplet.endpoint, sub: this.subject, aud: audience, iat, exp: iat + SIGNATURE_TTL_SECONDS, jti: randomUUID() });
  }

  private sign(claims: Record<string, unknown>): string {
    return jwt.sign(claims, this.#privateKey, { algorithm: 'RS256', keyid: this.kid });
  }

  /** Never printed: a signer in a log shows its key id only. */
  toJSON(): string {
    return `[DropletSigner ${this.kid}]`;
  }
}
