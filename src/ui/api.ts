/** Talking to the API from the browser: tokens in sessionStorage, refreshed when they expire. */

const ACCESS = 'pe.access_token';
const REFRESH = 'pe.refresh_token';
const API_KEY = 'pe.api_key';

export interface Credentials {
  access?: string;
  refresh?: string;
  apiKey?: string;
}

export function storedCredentials(): Credentials | null {
  const apiKey = sessionStorage.getItem(API_KEY);
  if (apiKey) return { apiKey };
  const access = sessionStorage.getItem(ACCESS);
  if (access) return { access, refresh: sessionStorage.getItem(REFRESH) ?? undefined };
  return null;
}

export function storeTokens(access: string, refresh: string): void {
  sessionStorage.removeItem(API_KEY);
  sessionStorage.setItem(ACCESS, access);
  sessionStorage.setItem(REFRESH, refresh);
}

export function storeApiKey(key: string): void {
  sessionStorage.removeItem(ACCESS);
  sessionStorage.removeItem(REFRESH);
  sessionStorage.setItem(API_KEY, key);
}

export function forgetCredentials(): void {
  for (const k of [ACCESS, REFRESH, API_KEY]) sessionStorage.removeItem(k);
}

/** An API answer that was not a success: its status, stable code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let onSignedOut: () => void = () => undefined;
/** Called when the credentials stop working (refresh refused): the app shows the login form. */
export function whenSignedOut(fn: () => void): void {
  onSignedOut = fn;
}

let refreshing: Promise<boolean> | null = null;

/** Exchanges the refresh token once for a new pair; concurrent callers share the one exchange. */
function refreshTokens(): Promise<boolean> {
  refreshing ??= (async () => {
    const refresh = sessionStorage.getItem(REFRESH);
    if (!refresh) return false;
    const res = await fetch('/v1/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: refresh }) });
    if (!res.ok) return false;
    const body = await res.json();
    storeTokens(body.token, body.refresh_token);
    return true;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

export function authHeaders(): Record<string, string> {
  const c = storedCredentials();
  if (c?.apiKey) return { 'x-api-key': c.apiKey };
  if (c?.access) return { authorization: `Bearer ${c.access}` };
  return {};
}

/** fetch with the caller's credentials; a 401 on an access token is retried once after a refresh. */
export async function authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const send = () => fetch(path, { ...init, headers: { ...(init.headers as Record<string, string>), ...authHeaders() } });
  let res = await send();
  if (res.status === 401 && storedCredentials()?.refresh) {
    if (await refreshTokens()) res = await send();
  }
  if (res.status === 401) {
    forgetCredentials();
    onSignedOut();
  }
  return res;
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = String(res.status);
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = await res.json();
    code = body.error ?? code;
    message = body.message ?? body.detail ?? message;
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, code, message);
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await authorizedFetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export async function login(username: string, password: string): Promise<void> {
  const res = await fetch('/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (!res.ok) throw await errorOf(res);
  const body = await res.json();
  storeTokens(body.token, body.refresh_token);
}

export async function logout(): Promise<void> {
  const c = storedCredentials();
  if (c?.access) await api('POST', '/v1/auth/logout', c.refresh ? { refresh_token: c.refresh } : {}).catch(() => undefined);
  forgetCredentials();
}

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** One page of a list and the cursor of the next (`X-Next-Cursor`), or null at the end. */
export async function apiPage<T = any>(path: string): Promise<{ items: T[]; next: string | null }> {
  const res = await authorizedFetch(path, {});
  if (!res.ok) throw await errorOf(res);
  return { items: (await res.json()) as T[], next: res.headers.get('x-next-cursor') };
}
