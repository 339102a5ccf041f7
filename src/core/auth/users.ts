import { randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { Redis } from 'ioredis';
import type { Config, Role } from '../config.js';
import { EngineError, ErrorCodes, NotFoundError } from '../../common/errors.js';
import type { Keys } from '../keys.js';
import { luaScript } from '../lua.js';
import type { Identity } from './identity.js';

const BCRYPT_ROUNDS = 10;
// Compared against when the user does not exist, so a wrong name costs as long as a wrong password.
const ABSENT_USER_HASH = bcrypt.hashSync(randomBytes(16).toString('hex'), BCRYPT_ROUNDS);

export const USERNAME_PATTERN = '^[a-zA-Z0-9_.-]{1,64}$';

/** A user as the API shows it: never its password hash. */
export interface UserRecord {
  username: string;
  /** `admin` is a global admin; any other role is the user's role in each of its workspaces unless `workspaces` says otherwise. */
  role: Role;
  workspaces: Record<string, Role>;
  disabled: boolean;
  /** `config` for users of AUTH_USERS, `bootstrap` for the first-start admin, `api` for users made through the API. */
  source: 'config' | 'bootstrap' | 'api';
  created_at: string;
  updated_at: string;
}

export interface UserChange {
  role?: Role;
  workspaces?: Record<string, Role>;
  disabled?: boolean;
}

/** The fields a request needs to know who asks: read on every request, in one round trip. */
const IDENTITY_FIELDS = ['role', 'workspaces', 'disabled', 'valid_after'] as const;

// KEYS: the user, a session's refresh family. ARGV: IDENTITY_FIELDS. {their values, the family's `revoked`}.
const IDENTITY_IN_SESSION = `return {redis.call('HMGET', KEYS[1], unpack(ARGV)), redis.call('HGET', KEYS[2], 'revoked')}`;

/**
 * Who may log in, kept in Redis so every API replica sees a change at once. The users of
 * AUTH_USERS and the first-start `admin` bootstrap an empty system; after that the records
 * here are the truth, changed through the API. Passwords are bcrypt hashes.
 */
export class UserDirectory {
  constructor(
    private readonly config: Config,
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /**
   * Writes the configured users that are not there yet, disables configured users that were
   * dropped from the setting, and creates `admin` on first start (its password ADMIN_PASSWORD,
   * or a random one handed to `announce` once). Several replicas may race: HSETNX lets one win.
   */
  async bootstrap(announce: (password: string) => void): Promise<void> {
    const now = new Date().toISOString();
    for (const user of this.config.auth.users) {
      const workspaces = user.role === 'admin' ? {} : Object.fromEntries(user.workspaces.map((w) => [w, user.role]));
      await this.insert(user.username, user.passwordHash, { role: user.role, workspaces, source: 'config' }, now);
    }
    const configured = new Set(this.config.auth.users.map((u) => u.username));
    for (const username of await this.redis.zrange(this.keys.users(), '0', '-1')) {
      if (configured.has(username)) continue;
      const source = await this.redis.hget(this.keys.user(username), 'source');
      if (source === 'config') await this.change(username, { disabled: true });
    }
    if (configured.has('admin') || (await this.redis.exists(this.keys.user('admin')))) return;
    // A system from before users lived in Redis kept only the admin's hash.
    const legacy = await this.redis.get(this.keys.adminUser());
    const generated = legacy === null && this.config.auth.adminPassword === null;
    const password = this.config.auth.adminPassword ?? randomBytes(18).toString('base64url');
    const hash = legacy ?? (await bcrypt.hash(password, BCRYPT_ROUNDS));
    const won = await this.insert('admin', hash, { role: 'admin', workspaces: {}, source: 'bootstrap' }, now);
    if (won && generated) announce(password);
  }

  private async insert(username: string, hash: string, fields: { role: Role; workspaces: Record<string, Role>; source: UserRecord['source'] }, now: string): Promise<boolean> {
    const key = this.keys.user(username);
    const won = (await this.redis.hsetnx(key, 'pw', hash)) === 1;
    if (!won) return false;
    await this.redis
      .multi()
      // No token issued before the user existed counts: a user deleted and made again under the same name starts afresh.
      .hset(key, { role: fields.role, workspaces: JSON.stringify(fields.workspaces), disabled: '0', source: fields.source, created_at: now, updated_at: now, valid_after: String(Date.now()) })
      .zadd(this.keys.users(), String(Date.now()), username)
      .exec();
    return true;
  }

  /** Creates a user through the API; 409 when the name is taken. */
  async create(username: string, password: string, role: Role, workspaces: Record<string, Role>): Promise<UserRecord> {
    const hash = await bcrypt.hash(password, BCRYPT_ROUNDS);
    const won = await this.insert(username, hash, { role, workspaces: role === 'admin' ? {} : workspaces, source: 'api' }, new Date().toISOString());
    if (!won) throw new EngineError(ErrorCodes.USER_EXISTS, `user '${username}' already exists`);
    return (await this.get(username))!;
  }

  async get(username: string): Promise<UserRecord | null> {
    const raw = await this.redis.hgetall(this.keys.user(username));
    return raw.pw === undefined ? null : toRecord(username, raw);
  }

  async require(username: string): Promise<UserRecord> {
    const user = await this.get(username);
    if (!user) throw new NotFoundError(ErrorCodes.USER_NOT_FOUND, `user '${username}' does not exist`);
    return user;
  }

  async list(): Promise<UserRecord[]> {
    const names = await this.redis.zrange(this.keys.users(), '0', '-1');
    const pipeline = this.redis.pipeline();
    for (const name of names) pipeline.hgetall(this.keys.user(name));
    const rows = (await pipeline.exec()) ?? [];
    return names.flatMap((name, i) => {
      const raw = rows[i]?.[1] as Record<string, string> | undefined;
      return raw?.pw === undefined ? [] : [toRecord(name, raw)];
    });
  }

  /**
   * Changes role, workspaces or whether the user may log in. Takes effect on the user's next
   * request: every request reads the record afresh. Disabling also ends every session.
   */
  async change(username: string, change: UserChange): Promise<UserRecord> {
    const current = await this.require(username);
    const role = change.role ?? current.role;
    const fields: Record<string, string> = { updated_at: new Date().toISOString(), role };
    if (change.workspaces !== undefined || role === 'admin') fields.workspaces = JSON.stringify(role === 'admin' ? {} : change.workspaces ?? current.workspaces);
    if (change.disabled !== undefined) fields.disabled = change.disabled ? '1' : '0';
    if (change.disabled) fields.valid_after = String(Date.now());
    await this.redis.hset(this.keys.user(username), fields);
    return (await this.get(username))!;
  }

  /** Sets a new password and ends every session begun before it. */
  async setPassword(username: string, password: string): Promise<void> {
    await this.require(username);
    const hash = await bcrypt.hash(password, BCRYPT_ROUNDS);
    await this.redis.hset(this.keys.user(username), { pw: hash, valid_after: String(Date.now()), updated_at: new Date().toISOString() });
  }

  async remove(username: string): Promise<boolean> {
    const [[, removed]] = (await this.redis.multi().del(this.keys.user(username)).zrem(this.keys.users(), username).exec()) as Array<[Error | null, number]>;
    return removed === 1;
  }

  /** The user behind a password, or null; a disabled user cannot log in. */
  async authenticate(username: string, password: string): Promise<UserRecord | null> {
    const raw = await this.redis.hgetall(this.keys.user(username));
    const hash = raw.pw ?? null;
    const ok = await bcrypt.compare(password, hash ?? ABSENT_USER_HASH);
    if (!ok || hash === null || raw.disabled === '1') return null;
    return toRecord(username, raw);
  }

  /**
   * Who the user is right now, for a token issued at `issuedAtMs`: null when the user is gone,
   * disabled, or its sessions were ended after the token was issued (a new password).
   */
  async identity(username: string, issuedAtMs: number): Promise<Identity | null> {
    return identityFromFields(username, issuedAtMs, await this.redis.hmget(this.keys.user(username), ...IDENTITY_FIELDS));
  }

  /**
   * What a bearer token of this engine stands for: the identity (as `identity` answers it) and
   * whether its session is still open (not logged out, not revoked, not past its lifetime).
   * Every request with such a token asks both, so they are one round trip.
   */
  async identityInSession(username: string, issuedAtMs: number, session: string): Promise<{ identity: Identity | null; sessionOpen: boolean }> {
    const run = luaScript(this.redis, 'peIdentityInSession', IDENTITY_IN_SESSION, 2);
    const [fields, revoked] = (await run(this.keys.user(username), this.keys.refreshFamily(session), ...IDENTITY_FIELDS)) as [Array<string | null>, string | null];
    return { identity: identityFromFields(username, issuedAtMs, fields), sessionOpen: revoked === '0' };
  }

  /** The user's identity as its own record has it, for an API key acting for it. */
  async ownerIdentity(username: string): Promise<Identity | null> {
    return this.identity(username, Number.MAX_SAFE_INTEGER);
  }
}

/** A user's identity from its IDENTITY_FIELDS, for a credential issued at `issuedAtMs`; null when it may not act. */
function identityFromFields(username: string, issuedAtMs: number, [role, workspaces, disabled, validAfter]: Array<string | null>): Identity | null {
  if (role === null || role === undefined || disabled === '1') return null;
  if (issuedAtMs < Number(validAfter ?? 0)) return null;
  return identityOf('user', username, role as Role, parseWorkspaces(workspaces));
}

function parseWorkspaces(raw: string | null | undefined): Record<string, Role> {
  try {
    const parsed = JSON.parse(raw ?? '{}') as unknown;
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, Role>) : {};
  } catch {
    return {};
  }
}

export function identityOf(kind: Identity['kind'], username: string, role: Role, workspaces: Record<string, Role>): Identity {
  return { kind, username, admin: role === 'admin', workspaces: role === 'admin' ? {} : workspaces };
}

function toRecord(username: string, raw: Record<string, string>): UserRecord {
  return {
    username,
    role: (raw.role ?? 'viewer') as Role,
    workspaces: parseWorkspaces(raw.workspaces),
    disabled: raw.disabled === '1',
    source: (raw.source ?? 'api') as UserRecord['source'],
    created_at: raw.created_at ?? '',
    updated_at: raw.updated_at ?? '',
  };
}
