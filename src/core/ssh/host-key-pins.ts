import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';

/** OpenSSH's fingerprint notation: `SHA256:` and the unpadded base64 of the key blob's digest. */
export function fingerprintOf(hostKey: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(hostKey).digest('base64').replace(/=+$/, '');
}

export type PinCheck =
  | { ok: true; fingerprint: string; firstUse: boolean }
  | { ok: false; fingerprint: string; pinned: string };

/** Decides whether a server's host key is the one expected of it. */
export interface HostKeyPolicy {
  check(serverKey: string, fingerprint: string): Promise<PinCheck>;
}

/**
 * Host key policy: accept on first use, then pin.
 *
 * A server the engine creates makes its host key on first boot, and none of the providers'
 * APIs hands that key back, so there is nothing to check the very first connection against.
 * The engine therefore trusts the key a server presents the first time and records its
 * fingerprint (per engine server id, not per address, since providers reuse addresses); every
 * later connection must present the same key or is refused before any script is sent. A
 * server that was legitimately rebuilt needs its pin removed (`DEL <prefix>:ssh:host-key:<id>`).
 */
export class HostKeyPins implements HostKeyPolicy {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async check(serverKey: string, fingerprint: string): Promise<PinCheck> {
    const key = this.keys.sshHostKeyPin(serverKey);
    // SET NX: of two first connections racing, one pins and the other is compared with it.
    const firstUse = (await this.redis.set(key, fingerprint, 'NX')) === 'OK';
    if (firstUse) return { ok: true, fingerprint, firstUse };
    const pinned = (await this.redis.get(key)) ?? fingerprint;
    return pinned === fingerprint ? { ok: true, fingerprint, firstUse } : { ok: false, fingerprint, pinned };
  }
}
