/**
 * Vultr's cursor pagination (PROVIDERS.md §3.2, §5.5): `per_page` (default 100, at most
 * 500) and an opaque `cursor`; the answer's `meta.links.next`/`prev` are cursors to pass
 * back, `""` when there is no such page, and `meta.total` counts the whole filtered list.
 *
 * A cursor here is the base64 of an offset. Clients must treat it as opaque, and one that
 * does not decode to an offset is refused the way a stale or forged cursor would be.
 */
import { badRequest } from './errors.js';

export const DEFAULT_PER_PAGE = 100;
export const MAX_PER_PAGE = 500;

export interface VultrMeta {
  total: number;
  links: { next: string; prev: string };
}

export interface VultrPage<T> {
  items: T[];
  meta: VultrMeta;
}

export function paginate<T>(all: readonly T[], perPageRaw: string | undefined, cursorRaw: string | undefined): VultrPage<T> {
  const perPage = perPageOf(perPageRaw);
  const offset = cursorRaw === undefined || cursorRaw === '' ? 0 : offsetOf(cursorRaw);
  const items = all.slice(offset, offset + perPage);
  const nextOffset = offset + perPage;
  return {
    items,
    meta: {
      total: all.length,
      links: {
        next: nextOffset < all.length ? cursorFor(nextOffset) : '',
        prev: offset > 0 ? cursorFor(Math.max(0, offset - perPage)) : '',
      },
    },
  };
}

export function cursorFor(offset: number): string {
  return Buffer.from(String(offset), 'utf8').toString('base64');
}

function offsetOf(cursor: string): number {
  const decoded = /^[A-Za-z0-9+/]+={0,2}$/.test(cursor) ? Buffer.from(cursor, 'base64').toString('utf8') : '';
  const match = /^(\d{1,9})$/.exec(decoded);
  if (match === null) throw badRequest('Invalid cursor.');
  return Number(match[1]);
}

/** Out-of-range or non-numeric values fall back to the nearest allowed size. */
function perPageOf(raw: string | undefined): number {
  if (raw === undefined || !/^\s*-?\d+\s*$/.test(raw)) return DEFAULT_PER_PAGE;
  const n = Number(raw);
  if (n < 1) return DEFAULT_PER_PAGE;
  return Math.min(MAX_PER_PAGE, n);
}
