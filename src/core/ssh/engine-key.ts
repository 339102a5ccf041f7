import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import { ConfigError, type SshSettings } from '../config.js';
import type { Keys } from '../keys.js';
import { generateEd25519Key } from './ed25519-key.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { sharedSecret } from '../secrets/stored-secret.js';

const { utils } = ssh2;

const KEY_COMMENT = 'provisioning-engine';

/** The key the engine logs in to servers with. */
export interface EngineKey {
  /** OpenSSH format; in clear only in process memory (sealed in Redis, or the configured file). */
  privateKey: string;
  /** One `authorized_keys` line: `ssh-ed25519 AAAA… provisioning-engine`. */
  publicKey: string;
}

function parse(privateKey: string, where: string): ParsedKey {
  const parsed = utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey | Error | undefined) : parsed;
  if (!key || key instanceof Error || !key.isPrivateKey()) {
    throw new ConfigError(where, `does not hold an unencrypted OpenSSH private key${key instanceof Error ? ` (${key.message})` : ''}`);
  }
  return key;
}

function fromPrivate(privateKey: string, where: string): EngineKey {
  const key = parse(privateKey, where);
  return { privateKey, publicKey: `${key.type} ${key.getPublicSSH().toString('base64')} ${KEY_COMMENT}` };
}

const cache = new Map<string, Promise<EngineKey>>();

/**
 * The engine's SSH key: from SSH_PRIVATE_KEY_FILE when set, otherwise an ed25519 key made the
 * first time any process asks and kept in Redis sealed with the engine's secret key (`box`),
 * so every API and worker process (on any machine) uses the same one and a Redis dump alone
 * logs in nowhere. SET NX makes concurrent first calls agree on one key; a key kept in clear
 * by an older version is sealed in place. One that does not open under the configured secret
 * key is an error naming that setting, never replaced: the servers made so far trust only it.
 */
export function engineKey(redis: Redis, keys: Keys, settings: SshSettings, box: SecretBox): Promise<EngineKey> {
  const cacheKey = settings.privateKeyFile ?? `${keys.sshEngineKey()}@${box.fingerprint()}`;
  let pending = cache.get(cacheKey);
  if (!pending) {
    pending = loadEngineKey(redis, keys, settings, box);
    cache.set(cacheKey, pending);
    pending.catch(() => cache.delete(cacheKey));
  }
  return pending;
}

async function loadEngineKey(redis: Redis, keys: Keys, settings: SshSettings, box: SecretBox): Promise<EngineKey> {
  if (settings.privateKeyFile !== null) return fromPrivate(readFileSync(settings.privateKeyFile, 'utf8'), 'SSH_PRIVATE_KEY_FILE');
  const privateKey = await sharedSecret(redis, keys.sshEngineKey(), box, {
    what: "the engine's SSH private key",
    purpose: 'ssh-engine-key',
    generate: () => generateEd25519Key(KEY_COMMENT).privateKey,
  });
  return fromPrivate(privateKey, `Redis key ${keys.sshEngineKey()}`);
}
