/** The query part of the hash route (`#/operations?status=running`). */
export function hashQuery(): URLSearchParams {
  const i = location.hash.indexOf('?');
  return new URLSearchParams(i >= 0 ? location.hash.slice(i + 1) : '');
}

/** Rewrites the hash route's query without adding a history entry per keystroke. */
export function setHashQuery(values: Record<string, string>): void {
  const base = location.hash.split('?')[0] || '#/';
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v) q.set(k, v);
  const s = q.toString();
  history.replaceState(null, '', `${location.pathname}${base}${s ? `?${s}` : ''}`);
}
