import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, CliError, ConnectionError, networkReason } from './errors.js';
import { CredentialStore, type StoredLogin } from './credentials.js';
import { ExitCode } from './exit-codes.js';

export const DEFAULT_URL = 'http://localhost:8083';

export type Query = Record<string, string | number | boolean | undefined | null>;

/** Requests one listing may make to fill a short page (see ApiClient.list). */
const MAX_FILL_REQUESTS = 20;
/** The page size list endpoints answer without `limit` (pageQuery in src/api/schemas/common.ts). */
const DEFAULT_PAGE = 50;

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  body?: unknown;
  query?: Query;
  headers?: Record<string, string>;
  /** false: send no credentials (login, refresh). */
  auth?: boolean;
  signal?: AbortSignal;
}

/** A token pair as `POST /v1/auth/login` and `/v1/auth/refresh` answer it. */
export interface TokenPair {
  token: string;
  refresh_token: string;
  expires_in: number;
  token_type?: string;
}

/** How requests are authenticated: the environment wins over the stored login. */
type Credentials =
  | { kind: 'token'; token: string }
  | { kind: 'api-key'; key: string }
  | { kind: 'login'; login: StoredLogin }
  | { kind: 'none' };

/** How long a request keeps being sent again while the API is unreachable or busy. */
const RETRY_BUDGET_MS = 30_000;
const RETRIED_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
/** Connection failures (as networkReason names them) that mean the request never reached the API. */
const NEVER_SENT: ReadonlySet<string> = new Set(['connection refused', 'host not found']);

/**
 * The writes the API keeps an answer for under `Idempotency-Key` (src/api/idempotent.ts): every
 * authenticated mutating /v1 route but sign-in, API keys, passwords and the console (whose
 * answers are secrets and are never kept).
 */
export function takesIdempotencyKey(method: string, path: string): boolean {
  if (method === 'GET' || !path.startsWith('/v1/')) return false;
  return !path.startsWith('/v1/auth/') && !path.startsWith('/v1/api-keys') && !path.endsWith('/password') && !path.endsWith('/console');
}

/** Refresh this long before the access token expires, so a request never carries one about to lapse. */
const EXPIRY_MARGIN_MS = 30_000;

export function normalizeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`PE_URL is not a URL: ${raw}`, ExitCode.USAGE);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`PE_URL must be http or https: ${raw}`, ExitCode.USAGE);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The API over HTTP: JSON in and out, errors as ApiError (the server's message and fields) or
 * ConnectionError, and the stored login's access token refreshed when it expired or a 401 says so.
 */
export class ApiClient {
  readonly url: string;
  private refreshing: Promise<StoredLogin> | null = null;

  constructor(
    url: string,
    readonly store: CredentialStore,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.url = normalizeUrl(url);
  }

  private credentials(): Credentials {
    if (this.env.PE_TOKEN) return { kind: 'token', token: this.env.PE_TOKEN };
    if (this.env.PE_API_KEY) return { kind: 'api-key', key: this.env.PE_API_KEY };
    const login = this.store.get(this.url);
    return login ? { kind: 'login', login } : { kind: 'none' };
  }

  /** The headers that authenticate a request, refreshing the stored login first when it expired. */
  async authHeaders(): Promise<Record<string, string>> {
    const creds = this.credentials();
    switch (creds.kind) {
      case 'token':
        return { authorization: `Bearer ${creds.token}` };
      case 'api-key':
        return { 'x-api-key': creds.key };
      case 'login': {
        const login = creds.login.expires_at - EXPIRY_MARGIN_MS <= Date.now() ? await this.refresh(creds.login.token) : creds.login;
        return { authorization: `Bearer ${login.token}` };
      }
      case 'none':
        throw new CliError(`not logged in to ${this.url}: run "pe login", or set PE_TOKEN or PE_API_KEY`, ExitCode.API_ERROR);
    }
  }

  /** Whether a 401 may be cured by refreshing: only a stored login can be. */
  private usesStoredLogin(): boolean {
    return this.credentials().kind === 'login';
  }

  /**
   * Spends the stored refresh token for a new pair (once per process at a time, and under a
   * file lock across processes). `staleToken` is the access token found wanting: when another
   * process has replaced it meanwhile, its new pair is used instead of refreshing again.
   */
  async refresh(staleToken: string): Promise<StoredLogin> {
    this.refreshing ??= this.store
      .locked(async () => {
        const current = this.store.get(this.url);
        if (!current) throw new CliError(`not logged in to ${this.url}: run "pe login"`, ExitCode.API_ERROR);
        if (current.token !== staleToken && current.expires_at - EXPIRY_MARGIN_MS > Date.now()) return current;
        let reply: Reply<TokenPair>;
        try {
          reply = await this.request<TokenPair>('POST', '/v1/auth/refresh', { body: { refresh_token: current.refresh_token }, auth: false });
        } catch (err) {
          if (err instanceof ApiError && err.status === 401) {
            this.store.remove(this.url);
            throw new CliError(`the stored login has ended (${err.message}): run "pe login" again`, ExitCode.API_ERROR);
          }
          throw err;
        }
        const next = loginFrom(current.username, reply.body);
        this.store.save(this.url, next);
        return next;
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  urlFor(path: string, query?: Query): string {
    const url = new URL(this.url + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    }
    return url.toString();
  }

  /** One fetch; a failure to connect is a ConnectionError naming the URL. */
  async fetch(path: string, init: RequestInit & { query?: Query }): Promise<Response> {
    try {
      return await fetch(this.urlFor(path, init.query), init);
    } catch (err) {
      if ((err as Error)?.name === 'AbortError' || init.signal?.aborted) throw err;
      throw new ConnectionError(this.url, networkReason(err));
    }
  }

  /** A JSON request; a 4xx/5xx answer throws ApiError. */
  async request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<Reply<T>> {
    // One key for every try of this request: a create whose answer was lost is answered from
    // the first try's operation when sent again, never made twice.
    const key = takesIdempotencyKey(method, path) ? randomUUID() : undefined;
    const send = async (): Promise<Response> => {
      const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
      if (key) headers['idempotency-key'] = key;
      if (opts.auth !== false) Object.assign(headers, await this.authHeaders());
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] = 'application/json';
      }
      return this.fetch(path, { method, headers, body, query: opts.query, signal: opts.signal });
    };
    let res = await this.sendWithRetries(send, key !== undefined, opts.signal);
    if (res.status === 401 && opts.auth !== false && this.usesStoredLogin()) {
      // The access token was refused (expired early, or the server restarted its clock): refresh once and try again.
      await res.body?.cancel();
      const stale = this.store.get(this.url)?.token ?? '';
      await this.refresh(stale);
      res = await send();
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (res.status >= 400) throw ApiError.from(res.status, parsed, `${method} ${path} answered ${res.status}`);
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  /**
   * Sends, and for a write carrying an Idempotency-Key sends again with the same key while its
   * fate is unknown or the API says to come back: the connection broke after the request went
   * out (reset, hung up, timed out), or the answer was 429, 502, 503 or 504. Up to about
   * RETRY_BUDGET_MS. A first try the API never took (connection refused, host not found) fails
   * at once: nothing was sent, and the caller should hear that the API is down.
   */
  private async sendWithRetries(send: () => Promise<Response>, repeatable: boolean, signal?: AbortSignal): Promise<Response> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      let res: Response | undefined;
      try {
        res = await send();
      } catch (err) {
        const neverSent = err instanceof ConnectionError && NEVER_SENT.has(err.reason) && attempt === 0;
        if (!(err instanceof ConnectionError) || !repeatable || neverSent || Date.now() - started > RETRY_BUDGET_MS) throw err;
      }
      if (res && (!repeatable || !RETRIED_STATUSES.has(res.status) || Date.now() - started > RETRY_BUDGET_MS)) return res;
      const retryAfter = Number(res?.headers.get('retry-after'));
      await res?.body?.cancel();
      const backoff = Math.min(4000, 250 * 2 ** attempt);
      await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 10_000) : backoff, signal);
    }
  }

  get<T = any>(path: string, query?: Query): Promise<Reply<T>> {
    return this.request<T>('GET', path, { query });
  }

  /**
   * A list endpoint: one page, or every page when `all` (following `X-Next-Cursor`). A page the
   * API answers short but with a cursor (a rare filter's page stops at the API's scan budget) is
   * filled up from the pages after it, a bounded number of them, so `--limit` still shows as many
   * as there are.
   */
  async list<T = any>(path: string, query: Query, all: boolean): Promise<T[]> {
    const items: T[] = [];
    // Without --limit, the API's default page.
    const limit = typeof query.limit === 'number' ? query.limit : DEFAULT_PAGE;
    let cursor: string | undefined;
    for (let requests = 1; ; requests++) {
      const reply = await this.get<T[]>(path, { ...query, ...(all ? {} : { limit: limit - items.length }), cursor });
      items.push(...(Array.isArray(reply.body) ? reply.body : []));
      cursor = reply.headers.get('x-next-cursor') ?? undefined;
      if (!cursor) return items;
      if (!all && (items.length >= limit || requests >= MAX_FILL_REQUESTS)) return items;
    }
  }

  /** Opens a server-sent event stream; an error answer throws ApiError. */
  async openStream(path: string, opts: { query?: Query; lastEventId?: string | null; signal?: AbortSignal }): Promise<Response> {
    const open = async () => {
      const headers: Record<string, string> = { accept: 'text/event-stream', ...(await this.authHeaders()) };
      if (opts.lastEventId) headers['last-event-id'] = opts.lastEventId;
      return this.fetch(path, { method: 'GET', headers, query: opts.query, signal: opts.signal });
    };
    let res = await open();
    if (res.status === 401 && this.usesStoredLogin()) {
      await res.body?.cancel();
      await this.refresh(this.store.get(this.url)?.token ?? '');
      res = await open();
    }
    if (res.status >= 400) {
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      throw ApiError.from(res.status, parsed, `GET ${path} answered ${res.status}`);
    }
    return res;
  }
}

export function loginFrom(username: string, pair: TokenPair): StoredLogin {
  return {
    username,
    token: pair.token,
    refresh_token: pair.refresh_token,
    expires_at: Date.now() + (Number(pair.expires_in) || 900) * 1000,
  };
}
