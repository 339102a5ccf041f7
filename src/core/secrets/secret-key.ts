/**
 * Loading the engine's secret key, at the start of every process (and looked at again, cheaply,
 * whenever a secret is sealed or opened).
 *
 * - ENGINE_SECRET_KEY: 32 bytes in the environment (checked by loadConfig).
 * - ENGINE_SECRET_KEY_FILE: a file holding them as base64 or hex; refused when its group or
 *   others may read or write it (mode & 0o077), since then the key is not secret any more.
 * - otherwise `<DATA_DIR>/secret.key`, created by the first process that needs it with mode
 *   0600: written whole to a temporary file, then linked into place. link() fails when the
 *   name exists, so two processes starting at once agree on one key, and no process ever
 *   reads a half-written one.
 *
 * Why a key in a file beside the data is still worth having: what leaves the machine is
 * Redis's data — a dump, an AOF copied into a backup, a replica, a `redis-cli --rdb`, anyone
 * who reaches its port — and none of it holds the key. Only whoever can read the data
 * directory as its owner gets both; ENGINE_SECRET_KEY(_FILE) moves the key off the disk too.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, parseSecretKey, type Config, type SecretKeySetting } from '../config.js';
import { SecretBox, SECRET_KEY_BYTES } from './secret-box.js';

const boxes = new Map<string, SecretBox>();

/**
 * This process's secret box for the configured key; the first call reads (or makes) the key.
 * Throws ConfigError naming the setting when the key cannot be had.
 */
export function secretBox(config: Pick<Config, 'secretKey'>): SecretBox {
  const setting = config.secretKey;
  if (setting.source === 'ENGINE_SECRET_KEY') return cached(`env:${new SecretBox(setting.key, '').fingerprint()}`, () => setting.key, setting);
  if (setting.source === 'DATA_DIR') {
    try {
      createKeyFileOnce(setting.file);
    } catch (err) {
      throw new ConfigError('DATA_DIR', `must let this process make the secret key file ${setting.file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); or set ENGINE_SECRET_KEY or ENGINE_SECRET_KEY_FILE`);
    }
  }
  // A file is looked at again on every call (a stat), so one replaced, or whose permissions
  // were opened up since, is read and checked again.
  return cached(`file:${setting.file}:${fileVersion(setting)}`, () => readKeyFile(setting), setting);
}

function cached(id: string, load: () => Buffer, setting: SecretKeySetting): SecretBox {
  let box = boxes.get(id);
  if (!box) {
    box = new SecretBox(load(), describeSource(setting));
    boxes.set(id, box);
  }
  return box;
}

function fileVersion(setting: Extract<SecretKeySetting, { file: string }>): string {
  try {
    const st = statSync(setting.file);
    return `${st.ino}:${st.mode}:${st.mtimeMs}:${st.size}`;
  } catch {
    return 'absent';
  }
}

/** Where the key came from, as an operator would fix it: the setting's name (and the file). */
export function describeSource(setting: SecretKeySetting): string {
  switch (setting.source) {
    case 'ENGINE_SECRET_KEY':
      return 'ENGINE_SECRET_KEY';
    case 'ENGINE_SECRET_KEY_FILE':
      return `ENGINE_SECRET_KEY_FILE (${setting.file})`;
    case 'DATA_DIR':
      return `the key file ${setting.file} (made under DATA_DIR on first start; or set ENGINE_SECRET_KEY / ENGINE_SECRET_KEY_FILE)`;
  }
}

function readKeyFile(setting: Extract<SecretKeySetting, { file: string }>): Buffer {
  const { file, source } = setting;
  // ENGINE_SECRET_KEY_FILE names the file; DATA_DIR holds it.
  const fail = (problem: string) => new ConfigError(source, `${source === 'DATA_DIR' ? 'holds the secret key file' : 'names'} ${file}, ${problem}`);
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    throw fail(`which cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if ((mode & 0o077) !== 0) {
    throw fail(`which its group or others may read or write (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): the key must be its owner's alone (chmod 600 ${file})`);
  }
  const key = parseSecretKey(readFileSync(file, 'utf8'));
  if (key === null) throw fail(`which must hold ${SECRET_KEY_BYTES} bytes as base64 or hex`);
  return key;
}

/** Makes the key file unless it exists; concurrent callers all end up with the one that won. */
function createKeyFileOnce(file: string): void {
  try {
    statSync(file);
    return;
  } catch {
    // not there yet: make it
  }
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, randomBytes(SECRET_KEY_BYTES).toString('base64') + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, file);
    syncDir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Another process made it first: use theirs.
  } finally {
    unlinkSync(tmp);
  }
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems cannot fsync a directory; the link is still made.
  }
}
