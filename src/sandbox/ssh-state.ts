/**
 * What the sandbox's SSH host knows: its own host key and the public keys it lets in, which
 * are those listed under `ssh_authorized_keys` in the cloud-config of servers created through
 * any simulated provider, as cloud-init would install them on a real server's first boot.
 *
 * Both are kept in the state file (section `ssh`) when there is one, so after a restart the
 * servers made before still take their keys and present the host key clients pinned.
 */
import { generateKeyPairSync } from 'node:crypto';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import { objectAt, SnapshotFormatError, stringAt, stringsAt } from './snapshot-fields.js';
import type { PersistentProvider } from './state-snapshot.js';

const { utils } = ssh2;

function parsePublic(line: string): ParsedKey | null {
  const parsed = utils.parseKey(line.trim());
  return parsed instanceof Error || Array.isArray(parsed) || parsed.isPrivateKey() ? null : parsed;
}

/** Keys under `ssh_authorized_keys:` (block list) in every cloud-config part of `userData`. */
export function keysInUserData(userData: string): string[] {
  const keys: string[] = [];
  const lines = userData.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (!/^ssh_authorized_keys:\s*$/.test(lines[i]!)) continue;
    for (let j = i + 1; j < lines.length; j++) {
      const item = /^\s+-\s+["']?([^"']+?)["']?\s*$/.exec(lines[j]!);
      if (!item) break;
      keys.push(item[1]!);
    }
  }
  return keys;
}

/** user_data of a create request to any simulated provider (Vultr sends it base64-encoded). */
function userDataOf(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const b = body as { user_data?: unknown; server?: { user_data?: unknown } };
  const raw = typeof b.user_data === 'string' ? b.user_data : typeof b.server?.user_data === 'string' ? b.server.user_data : null;
  if (raw === null || raw.includes('ssh_authorized_keys')) return raw;
  const decoded = Buffer.from(raw, 'base64').toString('utf8');
  return decoded.includes('ssh_authorized_keys') ? decoded : raw;
}

export class SshHostState implements PersistentProvider {
  readonly provider = 'ssh';
  /** The host's private key (ECDSA P-256, PEM); made at start unless a state file had one. */
  hostKey: string = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'sec1', format: 'pem' }).toString();
  private readonly keys = new Map<string, ParsedKey>();
  private changes = 0;

  /** Adds one `authorized_keys` line; false when it is not a public key. */
  authorize(line: string): boolean {
    const key = parsePublic(line);
    if (!key) return false;
    const id = key.getPublicSSH().toString('base64');
    if (!this.keys.has(id)) {
      this.keys.set(id, key);
      this.changes++;
    }
    return true;
  }

  /** Learns the keys a successful create request's user_data installs. */
  learnFromCreateBody(body: unknown): void {
    const userData = userDataOf(body);
    if (userData) for (const key of keysInUserData(userData)) this.authorize(key);
  }

  /** The authorized key with this public blob, if any. */
  find(blob: Buffer): ParsedKey | undefined {
    return this.keys.get(blob.toString('base64'));
  }

  snapshot(): unknown {
    return { host_key: this.hostKey, authorized_keys: [...this.keys.values()].map((k) => `${k.type} ${k.getPublicSSH().toString('base64')}`) };
  }

  restore(section: unknown, path: string): void {
    const raw = objectAt(section, path);
    const hostKey = stringAt(raw.host_key, `${path}.host_key`);
    const keys = stringsAt(raw.authorized_keys, `${path}.authorized_keys`);
    const parsed = utils.parseKey(hostKey);
    if (parsed instanceof Error || Array.isArray(parsed) || !parsed.isPrivateKey()) throw new SnapshotFormatError(`${path}.host_key is not a private key`);
    this.hostKey = hostKey;
    this.keys.clear();
    for (const line of keys) this.authorize(line);
    this.changes++;
  }

  revision(): number {
    return this.changes;
  }

  /** Forgets the authorized keys; the host keeps its identity. */
  reset(): void {
    if (this.keys.size > 0) this.changes++;
    this.keys.clear();
  }
}
