/**
 * REDIS_SENTINELS and its companions: how the engine finds a Redis primary that Sentinel
 * manages, checked at boot so a typo stops the process naming the setting instead of
 * leaving it retrying an address that can never answer.
 */
import { isIP } from 'node:net';
import { ConfigError } from './config.js';

export interface SentinelAddress {
  host: string;
  port: number;
}

/** Where a Sentinel-managed primary is asked for, and the credentials each side wants. */
export interface RedisSentinelSettings {
  /** REDIS_SENTINELS: the sentinels asked, in order, which node is the primary now. */
  sentinels: SentinelAddress[];
  /** REDIS_SENTINEL_MASTER: the name the sentinels monitor the primary under (default `mymaster`). */
  masterName: string;
  /** REDIS_SENTINEL_PASSWORD: the sentinels' own `requirepass`; a secret, never logged. */
  sentinelPassword: string | null;
  /** REDIS_PASSWORD: what the primary and its replicas ask for (`requirepass`/`masterauth`); a secret, never logged. */
  password: string | null;
}

type Env = Record<string, string | undefined>;

const MAX_SENTINELS = 32;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const MASTER_NAME = /^[A-Za-z0-9._-]{1,64}$/;

export function setting(env: Env, name: string): string | null {
  const v = env[name];
  return v === undefined || v.trim() === '' ? null : v.trim();
}

/** `host:port`, or `[v6-address]:port`: one entry of a node list setting (`where`). */
function parseNode(entry: string, index: number, where: string): SentinelAddress {
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(entry) ?? /^([^:\[\]]+):(\d{1,5})$/.exec(entry);
  if (!match) throw new ConfigError(where, `entry ${index + 1} must be host:port (an IPv6 address in brackets), got '${entry}'`);
  const host = match[1]!;
  const port = Number(match[2]);
  const bracketed = entry.startsWith('[');
  if (bracketed ? isIP(host) !== 6 : !(isIP(host) === 4 || HOSTNAME.test(host))) {
    throw new ConfigError(where, `entry ${index + 1} has an invalid host '${host}'`);
  }
  if (port < 1 || port > 65535) throw new ConfigError(where, `entry ${index + 1} has port ${port}, expected 1 to 65535`);
  return { host, port };
}

/**
 * A comma-separated list of `host:port` nodes (REDIS_SENTINELS, REDIS_CLUSTER_NODES): each
 * entry checked, none twice, at most `max`.
 */
export function parseNodeList(raw: string, where: string, max: number): SentinelAddress[] {
  const entries = raw.split(',').map((e) => e.trim());
  if (entries.some((e) => e === '')) throw new ConfigError(where, `has an empty entry: '${raw}'`);
  if (entries.length > max) throw new ConfigError(where, `lists ${entries.length} nodes, at most ${max}`);
  const nodes = entries.map((entry, i) => parseNode(entry, i, where));
  const seen = new Set<string>();
  for (const n of nodes) {
    const key = `${n.host.toLowerCase()}:${n.port}`;
    if (seen.has(key)) throw new ConfigError(where, `names ${key} twice`);
    seen.add(key);
  }
  return nodes;
}

export function password(env: Env, name: string): string | null {
  const value = setting(env, name);
  // The value itself stays out of the message: it is a secret.
  if (value !== null && /[\u0000-\u001f\u007f]/.test(value)) throw new ConfigError(name, 'must not contain control characters');
  return value;
}

/**
 * The Sentinel settings, or null when REDIS_SENTINELS is unset (then REDIS_URL, or the
 * managed Redis, is used and the companions must be unset too: set alone they would do nothing).
 */
export function redisSentinelSettings(env: Env, redisUrl: string | null): RedisSentinelSettings | null {
  const raw = setting(env, 'REDIS_SENTINELS');
  const masterName = setting(env, 'REDIS_SENTINEL_MASTER');
  const sentinelPassword = password(env, 'REDIS_SENTINEL_PASSWORD');
  const dataPassword = password(env, 'REDIS_PASSWORD');
  if (raw === null) {
    if (masterName !== null) throw new ConfigError('REDIS_SENTINEL_MASTER', 'needs REDIS_SENTINELS');
    if (sentinelPassword !== null) throw new ConfigError('REDIS_SENTINEL_PASSWORD', 'needs REDIS_SENTINELS');
    if (dataPassword !== null && setting(env, 'REDIS_CLUSTER_NODES') === null) {
      throw new ConfigError('REDIS_PASSWORD', 'is the password of a Sentinel-managed primary or of a Redis Cluster\'s nodes and needs REDIS_SENTINELS or REDIS_CLUSTER_NODES; with REDIS_URL give it in the URL (redis://:password@host:port)');
    }
    return null;
  }
  if (redisUrl !== null) {
    throw new ConfigError('REDIS_SENTINELS', 'and REDIS_URL are both set: with sentinels the primary is whichever node they name, so leave REDIS_URL unset (the primary\'s password goes in REDIS_PASSWORD)');
  }
  const sentinels = parseNodeList(raw, 'REDIS_SENTINELS', MAX_SENTINELS);
  if (masterName !== null && !MASTER_NAME.test(masterName)) {
    throw new ConfigError('REDIS_SENTINEL_MASTER', `may hold only letters, digits, '.', '-' and '_' (at most 64), got '${masterName}'`);
  }
  return { sentinels, masterName: masterName ?? 'mymaster', sentinelPassword, password: dataPassword };
}
