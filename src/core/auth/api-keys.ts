/**
 * API keys: long-lived credentials a user makes for scripts and CI. A key is shown once, when
 * it is made; Redis keeps only the SHA-256 of it. A key's grants never exceed its creator's,
 * and `narrowTo` clips them again on every request against the owner as they are now, so a
 * demoted owner's keys lose what the owner lost.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ROLES, type Role } from '../config.js';
import { ForbiddenError, ValidationError, type FieldProblem } from '../../common/errors.js';
import type { Keys } from '../keys.js';
import { luaScript, type ScriptRunner } from '../lua.js';
import { roleIn, type Identity } from './identity.js';
import { lesserRole } from './permissions.js';

export interface ApiKeyRecord {
  id: string;
  /** The owner's username. */
  user_id: string;
  name: string;
  /** The key's first characters (`pe_<id>_` and 4 of the secret), shown in lists so a user recognises it. */
  prefix: string;
  /** A global-admin key: every workspace, as long as its owner is a global admin too. */
  admin: boolean;
  workspaces: Record<string, Role>;
  created_at: string;
  last_used: string | null;
  revoked_at: string | null;
}

export interface CreateApiKeyInput {
  name: string;
  role?: Role;
  workspaces?: string[];
}

const NAME_MAX = 100;
// The same rule as config.ts's workspace names, which it does not export.
const WORKSPACE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const ID = /^k[0-9a-f]{12}$/;
// The secret is base64url, whose alphabet includes `_`, so the key is split by shape, not by `_`.
const KEY = /^pe_(k[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const KEY_LENGTH = 'pe_'.length + 13 + 1 + 43;
const SECRET_PREFIX_CHARS = 4;
const LAST_USED_EVERY_MS = 60_000;
const ID_ATTEMPTS = 5;

/** ARGV: key, index, score, id, field, value, … Refuses (0) when the id is taken. */
const CREATE = `
if redis.call('EXISTS', ARGV[1]) == 1 then return 0 end
redis.call('HSET', ARGV[1], unpack(ARGV, 5))
redis.call('ZADD', ARGV[2], ARGV[3], ARGV[4])
return 1`;

/**
 * ARGV: old key, new key, index, old id, new id, score, field, value, … The old key is
 * replaced only while it exists and is unrevoked, so a rotation racing a revoke or another
 * rotation cannot leave two usable keys or revive a revoked one.
 * 0: old key gone or revoked; -1: new id taken; 1: done.
 */
const ROTATE = `
if redis.call('EXISTS', ARGV[1]) == 0 then return 0 end
if redis.call('HEXISTS', ARGV[1], 'revoked_at') == 1 then return 0 end
if redis.call('EXISTS', ARGV[2]) == 1 then return -1 end
redis.call('HSET', ARGV[2], unpack(ARGV, 7))
redis.call('ZADD', ARGV[3], ARGV[6], ARGV[5])
redis.call('DEL', ARGV[1])
redis.call('ZREM', ARGV[3], ARGV[4])
return 1`;

/** ARGV: key, now. HSETNX keeps the first revocation time; the EXISTS check keeps a deleted key from reappearing as a stub. */
const REVOKE = `
if redis.call('EXISTS', ARGV[1]) == 0 then return 0 end
redis.call('HSETNX', ARGV[1], 'revoked_at', ARGV[2])
return 1`;

/**
 * ARGV: key, now, threshold (ISO 8601, which sorts as text). Decided in Redis so replicas
 * answering the same key at once still write at most once a minute.
 */
const TOUCH = `
if redis.call('EXISTS', ARGV[1]) == 0 then return 0 end
local last = redis.call('HGET', ARGV[1], 'last_used')
if last and last > ARGV[3] then return 0 end
redis.call('HSET', ARGV[1], 'last_used', ARGV[2])
return 1`;

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);

// ForbiddenError words its message as a missing permission; these refusals name a workspace or a grant instead.
function forbidden(message: string): ForbiddenError {
  const err = new ForbiddenError('api_key_manage');
  err.message = message;
  return err;
}

function newKey(): { id: string; key: string; prefix: string } {
  const id = `k${randomBytes(6).toString('hex')}`;
  const secret = randomBytes(32).toString('base64url');
  return { id, key: `pe_${id}_${secret}`, prefix: `pe_${id}_${secret.slice(0, SECRET_PREFIX_CHARS)}` };
}

function fields(record: ApiKeyRecord, hash: string): string[] {
  const out = [
    'id', record.id,
    'user_id', record.user_id,
    'name', record.name,
    'prefix', record.prefix,
    'admin', record.admin ? '1' : '0',
    'workspaces', JSON.stringify(record.workspaces),
    'created_at', record.created_at,
    'hash', hash,
  ];
  if (record.last_used) out.push('last_used', record.last_used);
  if (record.revoked_at) out.push('revoked_at', record.revoked_at);
  return out;
}

function parseWorkspaces(raw: string | undefined): Record<string, Role> {
  const grants: Array<[string, Role]> = [];
  try {
    const parsed: unknown = JSON.parse(raw ?? '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const [name, role] of Object.entries(parsed)) if (isRole(role)) grants.push([name, role]);
    }
  } catch {
    // A damaged grant list grants nothing.
  }
  return Object.fromEntries(grants);
}

/** The public part of a stored hash, or null for a stub missing what every key has. */
function toRecord(h: Record<string, string>): ApiKeyRecord | null {
  if (!h.id || !h.user_id || !h.hash || !h.created_at) return null;
  return {
    id: h.id,
    user_id: h.user_id,
    name: h.name ?? '',
    prefix: h.prefix ?? '',
    admin: h.admin === '1',
    workspaces: parseWorkspaces(h.workspaces),
    created_at: h.created_at,
    last_used: h.last_used || null,
    revoked_at: h.revoked_at || null,
  };
}

/** What a new key of `owner` may hold: never more than the owner holds now. */
function grantsFor(owner: Identity, input: CreateApiKeyInput): { admin: boolean; workspaces: Record<string, Role> } {
  const problems: FieldProblem[] = [];
  const role = input.role;
  if (role !== undefined && !isRole(role)) problems.push({ field: 'body.role', problem: `must be one of ${ROLES.join(', ')}` });
  let named: string[] | undefined;
  if (input.workspaces !== undefined) {
    if (!Array.isArray(input.workspaces) || input.workspaces.length === 0) {
      problems.push({ field: 'body.workspaces', problem: 'must be a non-empty list of workspace names' });
    } else {
      input.workspaces.forEach((w, i) => {
        if (typeof w !== 'string' || !WORKSPACE_NAME.test(w)) problems.push({ field: `body.workspaces/${i}`, problem: 'is not a valid workspace name' });
      });
      named = [...new Set(input.workspaces)];
    }
  }
  if (owner.admin && named === undefined && role !== undefined && role !== 'admin') {
    // A global admin's key is either global (admin) or bounded to named workspaces; a global non-admin role has no meaning.
    problems.push({ field: 'body.workspaces', problem: `a key with role '${role}' must name its workspaces` });
  }
  if (problems.length > 0) throw new ValidationError(problems);

  if (owner.admin) {
    if (named === undefined) return { admin: true, workspaces: {} };
    return { admin: false, workspaces: Object.fromEntries(named.map((w) => [w, role ?? 'admin'])) };
  }
  if (named === undefined && role === 'admin') throw forbidden('only a global admin may create a global admin key');
  const wanted = named ?? Object.keys(owner.workspaces);
  const grants: Array<[string, Role]> = [];
  for (const w of wanted) {
    const held = roleIn(owner.workspaces, w);
    if (held === undefined) throw forbidden(`you are not a member of workspace '${w}'`);
    grants.push([w, lesserRole(role ?? held, held)]);
  }
  return { admin: false, workspaces: Object.fromEntries(grants) };
}

export class ApiKeyStore {
  private readonly createScript: ScriptRunner;
  private readonly rotateScript: ScriptRunner;
  private readonly revokeScript: ScriptRunner;
  private readonly touchScript: ScriptRunner;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.createScript = luaScript(redis, 'peApiKeyCreate', CREATE);
    this.rotateScript = luaScript(redis, 'peApiKeyRotate', ROTATE);
    this.revokeScript = luaScript(redis, 'peApiKeyRevoke', REVOKE);
    this.touchScript = luaScript(redis, 'peApiKeyTouch', TOUCH);
  }

  /** Makes a key for `owner`'s user; `key` is returned only here and cannot be read back later. */
  async create(owner: Identity, input: CreateApiKeyInput): Promise<{ record: ApiKeyRecord; key: string }> {
    const name = input?.name;
    if (typeof name !== 'string' || name.trim().length === 0 || name.length > NAME_MAX) {
      throw new ValidationError([{ field: 'body.name', problem: `must be 1 to ${NAME_MAX} characters` }]);
    }
    const grants = grantsFor(owner, input);
    for (let attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
      const made = newKey();
      const created = new Date();
      const record: ApiKeyRecord = {
        id: made.id,
        user_id: owner.username,
        name,
        prefix: made.prefix,
        admin: grants.admin,
        workspaces: grants.workspaces,
        created_at: created.toISOString(),
        last_used: null,
        revoked_at: null,
      };
      const stored = await this.createScript(
        this.keys.apiKey(made.id),
        this.keys.apiKeysOf(owner.username),
        String(created.getTime()),
        made.id,
        ...fields(record, sha256(made.key).toString('hex')),
      );
      if (Number(stored) === 1) return { record, key: made.key };
    }
    throw new Error('could not find an unused API key id');
  }

  /** The user's keys, newest first, revoked ones included. */
  async list(username: string): Promise<ApiKeyRecord[]> {
    const ids = await this.redis.zrevrange(this.keys.apiKeysOf(username), '0', '-1');
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.apiKey(id));
    const results = (await pipeline.exec()) ?? [];
    const records: ApiKeyRecord[] = [];
    for (const [err, hash] of results) {
      if (err) throw err;
      const record = toRecord(hash as Record<string, string>);
      if (record && record.user_id === username) records.push(record);
    }
    return records;
  }

  async get(id: string): Promise<ApiKeyRecord | null> {
    if (typeof id !== 'string' || !ID.test(id)) return null;
    return toRecord(await this.redis.hgetall(this.keys.apiKey(id)));
  }

  /** Marks the key revoked; revoking again keeps the first time. Null when the id is unknown. */
  async revoke(id: string): Promise<ApiKeyRecord | null> {
    if (typeof id !== 'string' || !ID.test(id)) return null;
    const done = await this.revokeScript(this.keys.apiKey(id), new Date().toISOString());
    return Number(done) === 1 ? this.get(id) : null;
  }

  /**
   * Replaces the key with a new one (new id, new secret, same name and grants) in one step.
   * Null when the id is unknown or revoked, including when a concurrent rotation won.
   */
  async rotate(id: string): Promise<{ record: ApiKeyRecord; key: string } | null> {
    const old = await this.get(id);
    if (!old || old.revoked_at) return null;
    for (let attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
      const made = newKey();
      const created = new Date();
      const record: ApiKeyRecord = {
        ...old,
        id: made.id,
        prefix: made.prefix,
        created_at: created.toISOString(),
        last_used: null,
        revoked_at: null,
      };
      const outcome = Number(
        await this.rotateScript(
          this.keys.apiKey(old.id),
          this.keys.apiKey(made.id),
          this.keys.apiKeysOf(old.user_id),
          old.id,
          made.id,
          String(created.getTime()),
          ...fields(record, sha256(made.key).toString('hex')),
        ),
      );
      if (outcome === 1) return { record, key: made.key };
      if (outcome === 0) return null;
    }
    throw new Error('could not find an unused API key id');
  }

  /** Regenerate is what the seed API calls rotation. */
  regenerate(id: string): Promise<{ record: ApiKeyRecord; key: string } | null> {
    return this.rotate(id);
  }

  /**
   * The key's record when `rawKey` is a current, unrevoked key; null for anything else,
   * malformed input included. The caller still has to `narrowTo` the owner's identity.
   */
  async authenticate(rawKey: string): Promise<ApiKeyRecord | null> {
    if (typeof rawKey !== 'string' || rawKey.length !== KEY_LENGTH) return null;
    const match = KEY.exec(rawKey);
    if (!match) return null;
    const id = match[1]!;
    const stored = await this.redis.hgetall(this.keys.apiKey(id));
    const record = toRecord(stored);
    if (!record || record.id !== id) return null;
    const expected = Buffer.from(stored.hash!, 'hex');
    const given = sha256(rawKey);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    if (record.revoked_at) return null;
    this.touch(record);
    return record;
  }

  /** Deletes every key of the user, for when the user is deleted. */
  async deleteAllOf(username: string): Promise<void> {
    const index = this.keys.apiKeysOf(username);
    // Repeats so a key a concurrent create or rotate added after the read goes too.
    for (let round = 0; round < 100; round++) {
      const ids = await this.redis.zrange(index, '0', '-1');
      if (ids.length === 0) return;
      const tx = this.redis.multi();
      for (const id of ids) tx.del(this.keys.apiKey(id));
      tx.zrem(index, ...ids);
      await tx.exec();
    }
    throw new Error(`API keys of '${username}' kept appearing while they were deleted`);
  }

  /** Records use without making the caller wait for the write. */
  private touch(record: ApiKeyRecord): void {
    const now = Date.now();
    // The record just read already says whether a write is due, so most requests send nothing.
    if (record.last_used && Date.parse(record.last_used) > now - LAST_USED_EVERY_MS) return;
    this.touchScript(this.keys.apiKey(record.id), new Date(now).toISOString(), new Date(now - LAST_USED_EVERY_MS).toISOString()).catch(() => {
      // last_used is informational; losing one write must not fail or log every request.
    });
  }
}

/**
 * What a key may do right now: its grants intersected with its owner's current identity
 * (loaded fresh by the caller). Workspaces the owner lost are dropped, demoted roles clipped.
 */
export function narrowTo(owner: Identity, key: ApiKeyRecord): Identity {
  if (owner.username !== key.user_id) throw new Error(`API key ${key.id} belongs to '${key.user_id}', not '${owner.username}'`);
  const base = { kind: 'api_key' as const, username: owner.username, keyId: key.id };
  if (key.revoked_at) return { ...base, admin: false, workspaces: {} };
  if (key.admin && owner.admin) return { ...base, admin: true, workspaces: {} };
  const grants: Array<[string, Role]> = [];
  if (key.admin) {
    for (const [w, held] of Object.entries(owner.workspaces)) grants.push([w, held]);
  } else {
    for (const [w, granted] of Object.entries(key.workspaces)) {
      if (owner.admin) {
        grants.push([w, granted]);
        continue;
      }
      const held = roleIn(owner.workspaces, w);
      if (held !== undefined) grants.push([w, lesserRole(granted, held)]);
    }
  }
  return { ...base, admin: false, workspaces: Object.fromEntries(grants) };
}
