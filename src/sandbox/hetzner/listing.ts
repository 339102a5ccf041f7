/**
 * How Hetzner lists collections: `page`/`per_page` pagination (25 by default, at most 50)
 * answered with `meta.pagination` and a `Link` header, and repeatable `sort=field[:asc|:desc]`
 * (PROVIDERS.md §2.2, Hetzner docs "Pagination" and "Sorting").
 */
import type { Request, Response } from 'express';
import { invalidInput } from './errors.js';

export const DEFAULT_PER_PAGE = 25;
export const MAX_PER_PAGE = 50;

export interface Pagination {
  page: number;
  per_page: number;
  previous_page: number | null;
  next_page: number | null;
  last_page: number;
  total_entries: number;
}

export interface Page<T> {
  items: T[];
  pagination: Pagination;
  /** The `Link` header value; empty when there is nowhere to go. */
  link: string;
}

/** Every value of a query parameter, whether it was given once or repeated. */
export function queryValues(req: Request, key: string): string[] {
  const value: unknown = (req.query as Record<string, unknown>)[key];
  if (value === undefined) return [];
  const values = Array.isArray(value) ? value : [value];
  return values.filter((v): v is string => typeof v === 'string');
}

export function queryValue(req: Request, key: string): string | undefined {
  return queryValues(req, key)[0];
}

/**
 * One page of `all`. `previous_page`/`next_page` are null at the edges; a page past the
 * end is empty rather than an error. Links carry the request's other parameters (filters,
 * sort) so a client following them keeps its query.
 */
export function paginate<T>(req: Request, all: readonly T[]): Page<T> {
  const page = positiveInt(req, 'page') ?? 1;
  const perPage = Math.min(MAX_PER_PAGE, positiveInt(req, 'per_page') ?? DEFAULT_PER_PAGE);
  const lastPage = Math.max(1, Math.ceil(all.length / perPage));
  const start = (page - 1) * perPage;

  const url = new URL(req.originalUrl, `${req.protocol}://${req.get('host') ?? 'localhost'}`);
  const carried = new URLSearchParams(url.search);
  carried.delete('page');
  carried.delete('per_page');
  const linkTo = (n: number): string => {
    const params = new URLSearchParams({ page: String(n), per_page: String(perPage) });
    for (const [k, v] of carried) params.append(k, v);
    return `${url.origin}${url.pathname}?${params.toString()}`;
  };

  const previous = page > 1 ? Math.min(page - 1, lastPage) : null;
  const next = page < lastPage ? page + 1 : null;
  const links: string[] = [];
  if (previous !== null) links.push(`<${linkTo(previous)}>; rel="prev"`);
  if (next !== null) links.push(`<${linkTo(next)}>; rel="next"`);
  links.push(`<${linkTo(lastPage)}>; rel="last"`);

  return {
    items: all.slice(start, start + perPage),
    pagination: {
      page,
      per_page: perPage,
      previous_page: previous,
      next_page: next,
      last_page: lastPage,
      total_entries: all.length,
    },
    link: links.join(', '),
  };
}

/** Answers with `{ [key]: items, meta: { pagination } }` and the `Link` header. */
export function sendPage<T>(res: Response, key: string, page: Page<T>, render: (item: T) => unknown): void {
  if (page.link !== '') res.setHeader('link', page.link);
  res.json({ [key]: page.items.map(render), meta: { pagination: page.pagination } });
}

export type Comparator<T> = (a: T, b: T) => number;

/**
 * The order the `sort` parameters ask for, from the comparators the endpoint allows. Ties
 * fall back to `fallback` (ascending id), so pages never overlap or skip an item.
 */
export function sortOrder<T>(
  req: Request,
  allowed: Record<string, Comparator<T>>,
  fallback: Comparator<T>,
): Comparator<T> {
  const keys: Comparator<T>[] = queryValues(req, 'sort').map((spec) => {
    const [field, direction = 'asc', extra] = spec.split(':');
    const compare = field === undefined ? undefined : allowed[field];
    if (compare === undefined || extra !== undefined || (direction !== 'asc' && direction !== 'desc')) {
      throw invalidInput([
        {
          name: 'sort',
          messages: [`'${spec}' is not one of ${Object.keys(allowed).map((f) => `${f}, ${f}:asc, ${f}:desc`).join(', ')}`],
        },
      ]);
    }
    return direction === 'desc' ? (a: T, b: T) => compare(b, a) : compare;
  });
  return (a, b) => {
    for (const compare of keys) {
      const order = compare(a, b);
      if (order !== 0) return order;
    }
    return fallback(a, b);
  };
}

function positiveInt(req: Request, key: string): number | undefined {
  const raw = queryValue(req, key);
  if (raw === undefined) return undefined;
  if (!/^\d{1,9}$/.test(raw.trim()) || Number(raw) < 1) {
    throw invalidInput([{ name: key, messages: ['must be a positive integer'] }]);
  }
  return Number(raw);
}
