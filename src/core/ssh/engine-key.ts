import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import { ConfigError, type SshSettings } from '../config.js';
import type { Keys } from '../keys.js';
import { generateEd25519Key } from './ed25519-key.js';

const { utils } = ssh2;

const KEY_COMMENT = 'provisioning-engine';

/** The key the engine logs in to servers with. */
export interface EngineKey {
  /** OpenSSH format; only ever in Redis (or the configured file) and process memory. */
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
 * first time any process asks and kept in Redis, so every API and worker process (on any
 * machine) uses the same one. SET NX makes concurrent first calls agree on one key.
 */
export function engineKey(redis: Redis, keys: Keys, settings: SshSettings): Promise<EngineKey> {
  const cacheKey = settings.privateKeyFile ?? keys.sshEngineKey();
  let pending = cache.get(cacheKey);
  if (!pending) {
    pending = loadEngineKey(redis, keys, settings);
    cache.set(cacheKey, pending);
    pending.catch(() => cache.delete(cacheKey));
  }
  return pending;
}

async function loadEngineKey(redis: Redis, keys: Keys, settings: SshSettings): Promise<EngineKey> {
  if (settings.privateKeyFile !== null) return fromPrivate(readFileSync(settings.privateKeyFile, 'utf8'), 'SSH_PRIVATE_KEY_FILE');
  const made = generateEd25519Key(KEY_COMMENT);
  await redis.set(keys.sshEngineKey(), made.privateKey, 'NX');
  const stored = await redis.get(keys.sshEngineKey());
  return fromPrivate(stored ?? made.privateKey, `Redis key ${keys.sshEngineKey()}`);
}
