/**
 * The archive of removed operations: `<DATA_DIR>/archive/operations-YYYY-MM-DD.ndjson.gz`, one
 * JSON object per line per operation (its record, events and logs), named for the day (UTC)
 * the retention job removed them.
 *
 * Each batch is appended as its own gzip member; a file of several members is still one valid
 * gzip stream (`zcat` and zlib's gunzip read them all in order). The write is flushed and
 * fsynced before it returns, and the caller removes the operations only after that: a crash in
 * between archives a batch twice rather than losing it.
 */
import { mkdir, open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Operation } from '../operations/model.js';

const gzipAsync = promisify(gzip);

/** One line of the archive. */
export interface ArchivedOperation {
  operation: Operation;
  /** Its events as the events stream held them (id and fields); ones the stream had already trimmed are absent. */
  events: Array<{ id: string } & Record<string, string>>;
  /** Its output lines (see operations/log.ts), oldest first. */
  logs: unknown[];
  archived_at: string;
}

export function archiveDirectory(dataDir: string): string {
  return join(resolve(dataDir), 'archive');
}

export function archiveFileFor(dataDir: string, at: Date): string {
  return join(archiveDirectory(dataDir), `operations-${at.toISOString().slice(0, 10)}.ndjson.gz`);
}

/** Appends the lines as one gzip member and makes them durable (file data, and the directory entry of a new file). */
export async function appendToArchive(file: string, lines: ArchivedOperation[]): Promise<void> {
  if (lines.length === 0) return;
  const dir = resolve(file, '..');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const member = await gzipAsync(Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n'));
  const handle = await open(file, 'a', 0o600);
  let created = false;
  try {
    created = (await handle.stat()).size === 0;
    await handle.write(member);
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (created) {
    // A new file's name lives in its directory: without this a crash could lose the whole file.
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  }
}
