import { closeSync, chmodSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** One login, kept per API URL. */
export interface StoredLogin {
  username: string;
  token: string;
  refresh_token: string;
  /** When the access token expires, ms since the epoch. */
  expires_at: number;
}

interface CredentialsFile {
  logins: Record<string, StoredLogin>;
}

/** `$XDG_CONFIG_HOME/pe`, or `~/.config/pe`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config');
  return join(base, 'pe');
}

/**
 * The tokens `pe login` stored: a file only its owner may read (0600) in a directory only its
 * owner may enter (0700). Writes go to a temporary file renamed over the old one, so a reader
 * never sees half a file; a refresh holds a lock file, so two `pe` processes never spend the
 * same one-use refresh token (which would end the session).
 */
export class CredentialStore {
  readonly dir: string;
  readonly file: string;
  private readonly lockFile: string;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.dir = configDir(env);
    this.file = join(this.dir, 'credentials.json');
    this.lockFile = join(this.dir, 'credentials.lock');
  }

  private read(): CredentialsFile {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as CredentialsFile;
      return parsed && typeof parsed.logins === 'object' && parsed.logins ? parsed : { logins: {} };
    } catch {
      return { logins: {} };
    }
  }

  private write(data: CredentialsFile): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }

  get(url: string): StoredLogin | undefined {
    return this.read().logins[url];
  }

  save(url: string, login: StoredLogin): void {
    const data = this.read();
    data.logins[url] = login;
    this.write(data);
  }

  remove(url: string): boolean {
    const data = this.read();
    if (!(url in data.logins)) return false;
    delete data.logins[url];
    if (Object.keys(data.logins).length === 0) rmSync(this.file, { force: true });
    else this.write(data);
    return true;
  }

  /** Runs `fn` holding the refresh lock (a lock older than 30 s is taken to be left by a dead process). */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const deadline = Date.now() + 15000;
    for (;;) {
      try {
        closeSync(openSync(this.lockFile, 'wx', 0o600));
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        try {
          if (Date.now() - statSync(this.lockFile).mtimeMs > 30000) rmSync(this.lockFile, { force: true });
        } catch {
          // gone meanwhile
        }
        if (Date.now() > deadline) break; // go on without it rather than hang
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    try {
      return await fn();
    } finally {
      rmSync(this.lockFile, { force: true });
    }
  }
}
