import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The embedded sandbox keeps one token across restarts, readable by its owner only. */
export function sandboxToken(dataDir: string): string {
  const file = resolve(dataDir, 'sandbox-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = 'sbx_' + randomBytes(16).toString('hex');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  return token;
}
