/**
 * The engine's secret box: AES-256-GCM under one 32-byte key, a fresh random 96-bit nonce per
 * value. A sealed value is text, so it sits in Redis like any other string:
 *
 *   v1:<nonce>:<ciphertext>:<tag>      (each part base64url)
 *
 * GCM authenticates: a value sealed under another key, altered, truncated or moved to another
 * purpose (the `purpose` is bound in as associated data) does not open; it throws
 * `SecretBoxError` instead of answering garbage.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const SECRET_KEY_BYTES = 32;
const SEALED = /^v1:([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]*):([A-Za-z0-9_-]{22})$/;

/** A value that does not open: wrong key, altered, or not a sealed value at all. */
export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

export class SecretBox {
  readonly #key: Buffer;

  /**
   * `source` says where the key came from, in the words an operator would act on (the
   * setting's name); every message about a value that does not open names it.
   */
  constructor(key: Buffer, readonly source: string) {
    if (key.length !== SECRET_KEY_BYTES) throw new Error(`a secret key has ${SECRET_KEY_BYTES} bytes, got ${key.length}`);
    this.#key = Buffer.from(key);
  }

  /** Whether a stored value is in the sealed format (it may still fail to open). */
  static isSealed(value: string): boolean {
    return value.startsWith(`${VERSION}:`);
  }

  /** Encrypts `plain` for `purpose` (e.g. `jwt-secret`); a new nonce every call. */
  seal(plain: string, purpose: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(purpose));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, nonce.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join(':');
  }

  /** The plain text of a value `seal` made for the same purpose under this key. */
  open(sealed: string, purpose: string): string {
    const m = SEALED.exec(sealed);
    if (!m) throw new SecretBoxError('not a sealed value (expected v1:<nonce>:<ciphertext>:<tag>)');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(m[1]!, 'base64url'), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(purpose));
    decipher.setAuthTag(Buffer.from(m[3]!, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(m[2]!, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('it does not authenticate: sealed under another key, or altered');
    }
  }

  /**
   * A secret derived from the key for one use (HKDF-SHA256): the same on every start and in
   * every process with this key, and telling nothing about the key itself.
   */
  derive(purpose: string, bytes = 32): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#key, Buffer.alloc(0), `provisioning-engine ${purpose}`, bytes));
  }

  /** A short fingerprint of the key (for telling two keys apart; not secret). */
  fingerprint(): string {
    return createHash('sha256').update('provisioning-engine key id').update(this.#key).digest('hex').slice(0, 16);
  }

  /** Never printed: a box that ends up in a log shows where its key came from, nothing more. */
  toJSON(): string {
    return `[SecretBox ${this.source}]`;
  }
}

function aad(purpose: string): Buffer {
  return Buffer.from(`${VERSION}|${purpose}`, 'utf8');
}
