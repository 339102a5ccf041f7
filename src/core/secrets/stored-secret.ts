import type { Redis } from 'ioredis';
import { ConfigError } from '../config.js';
import { SecretBox, SecretBoxError } from './secret-box.js';

/** Replaces a value only while it is still the one read (so a clear value is sealed once, by one process). */
const REPLACE_IF_UNCHANGED = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0`;

/**
 * A stored value that does not open under the configured key. Raised where it is read, at the
 * start of the process that needs it: the process stops, naming the key's setting. The value
 * is never replaced by a new one, which would lock every user out (a new JWT secret) or every
 * server (a new SSH key).
 */
export class SecretKeyMismatchError extends ConfigError {
  constructor(box: SecretBox, what: string, redisKey: string, why: string) {
    super(
      box.source,
      `does not open ${what} kept in Redis at ${redisKey} (${why}). It is not the key the system was started with before: start with that key again (the stored value is left as it is)`,
    );
    this.name = 'SecretKeyMismatchError';
  }
}

/**
 * A secret shared by every process through Redis, stored sealed by the secret box:
 * `generate()` makes it the first time any process asks (SET NX: concurrent first calls
 * agree on one). A value found in clear (written before secrets were sealed) is sealed in
 * place and used. `what` names it in messages, `purpose` binds the sealed value to its use.
 */
export async function sharedSecret(redis: Redis, redisKey: string, box: SecretBox, opts: { what: string; purpose: string; generate: () => string }): Promise<string> {
  let stored = await redis.get(redisKey);
  if (stored === null) {
    await redis.set(redisKey, box.seal(opts.generate(), opts.purpose), 'NX');
    stored = (await redis.get(redisKey))!;
  }
  if (!SecretBox.isSealed(stored)) {
    // A clear value from before: seal it where it is, unless another process just did.
    const replaced = await redis.eval(REPLACE_IF_UNCHANGED, 1, redisKey, stored, box.seal(stored, opts.purpose));
    if (replaced === 1) await compactAppendOnlyFile(redis);
    return stored;
  }
  try {
    return box.open(stored, opts.purpose);
  } catch (err) {
    if (err instanceof SecretBoxError) throw new SecretKeyMismatchError(box, opts.what, redisKey, err.message);
    throw err;
  }
}

/**
 * The append-only file still holds the clear value written long ago; a rewrite keeps only
 * what Redis holds now. Best effort: a Redis without AOF, or one refusing the command (an
 * operator's own, with it renamed), is left as it is. Backups made before keep the clear
 * value: rotate that secret if they may have leaked.
 */
async function compactAppendOnlyFile(redis: Redis): Promise<void> {
  try {
    if (/aof_enabled:1/.test(await redis.info('persistence'))) await redis.bgrewriteaof();
  } catch {
    // A rewrite already running, or not allowed here: nothing more to do.
  }
}
