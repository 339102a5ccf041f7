import { randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { Redis } from 'ioredis';
import type { Config, Role } from '../config.js';
import type { Keys } from '../keys.js';

export interface AuthenticatedUser {
  username: string;
  role: Role;
}

const BCRYPT_ROUNDS = 10;
// Compared against when the user does not exist, so a wrong name costs as long as a wrong password.
const ABSENT_USER_HASH = bcrypt.hashSync(randomBytes(16).toString('hex'), BCRYPT_ROUNDS);

/**
 * Who may log in: the users configured in AUTH_USERS (bcrypt hashes), and the `admin`
 * created on first start. The admin's password is ADMIN_PASSWORD when set, otherwise a
 * random one handed to `announce` once; only its hash is kept, in Redis, so every API
 * replica shares it.
 */
export class UserDirectory {
  constructor(
    private readonly config: Config,
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Creates the admin if none exists yet. Several replicas may race: SET NX lets one win. */
  async ensureAdmin(announce: (password: string) => void): Promise<'created' | 'exists' | 'configured'> {
    if (this.config.auth.users.some((u) => u.username === 'admin')) return 'configured';
    if (await this.redis.exists(this.keys.adminUser())) return 'exists';
    const generated = this.config.auth.adminPassword === null;
    const password = this.config.auth.adminPassword ?? randomBytes(18).toString('base64url');
    const hash = await bcrypt.hash(password, BCRYPT_ROUNDS);
    const won = await this.redis.set(this.keys.adminUser(), hash, 'NX');
    if (won === null) return 'exists';
    if (generated) announce(password);
    return 'created';
  }

  async authenticate(username: string, password: string): Promise<AuthenticatedUser | null> {
    const configured = this.config.auth.users.find((u) => u.username === username);
    let hash: string | null = configured?.passwordHash ?? null;
    let role: Role = configured?.role ?? 'admin';
    if (!configured && username === 'admin') {
      hash = await this.redis.get(this.keys.adminUser());
      role = 'admin';
    }
    const ok = await bcrypt.compare(password, hash ?? ABSENT_USER_HASH);
    return ok && hash ? { username, role } : null;
  }

  /** Whether a token's subject still exists with the role it claims. */
  knows(username: string): boolean {
    return username === 'admin' || this.config.auth.users.some((u) => u.username === username);
  }
}
