/**
 * Which build this process runs, read once at start: the commit from `git rev-parse HEAD` when
 * the package sits in a git checkout, else BUILD_COMMIT / BUILD_DATE, else "unknown".
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DropletSettings } from '../config.js';

export interface BuildInfo {
  commit: string;
  /** `YYYY-MM-DD`, or "unknown". */
  date: string;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function git(args: string[]): string | null {
  try {
    const out = execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return out === '' ? null : out;
  } catch {
    return null;
  }
}

let cached: BuildInfo | undefined;

export function buildInfo(settings: Pick<DropletSettings, 'buildCommit' | 'buildDate'>): BuildInfo {
  if (cached) return cached;
  const inGit = existsSync(`${ROOT}.git`);
  const commit = (inGit ? git(['rev-parse', 'HEAD']) : null) ?? settings.buildCommit ?? 'unknown';
  const commitDate = inGit && commit !== 'unknown' ? git(['log', '-1', '--format=%cI', commit]) : null;
  const date = settings.buildDate ?? commitDate;
  cached = { commit, date: date === null ? 'unknown' : date.slice(0, 10) };
  return cached;
}
