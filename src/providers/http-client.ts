/**
 * The HTTP client every provider adapter shares: JSON in and out, per-attempt timeouts,
 * retries with backoff, 429 handling, a per-provider concurrency cap, and one mapping of
 * HTTP failures onto `ProviderError` codes. With a `budget`, every attempt first draws on the
 * account's request budget that all processes share (request-budget.ts).
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { AbortedError, ErrorCodes, ProviderError, type ErrorCode } from '../common/errors.js';
import { countRequestSent, currentRequestPriority, type RequestBudget, type RequestPriority } from './request-budget.js';
import { startProviderCall, type ProviderCallSpan } from '../common/outgoing-trace.js';
import type { ProviderCallObserver } from './call-observer.js';
import { retryAfterMs, type ResponseHeaders } from '../common/retry-after.js';

export interface ParsedProviderError {
  providerCode?: string;
  message: string;
}

/** Turns a provider's error body (parsed JSON, or the raw text when it was not JSON) into its own code and message. */
export type ProviderErrorParser = (
  status: number,
  body: unknown,
  headers: ResponseHeaders,
) => ParsedProviderError;

export interface ProviderHttpClientOptions {
  provider: string;
  baseUrl: string;
  /** Sent on every request, e.g. `Authorization`. Values are treated as secrets and redacted from errors. */
  headers?: Record<string, string>;
  /** Per attempt, not per request. */
  timeoutMs?: number;
  /** Extra attempts after the first one. */
  retries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Requests in flight at once through this client; the rest wait in line. */
  maxConcurrency?: number;
  /** Longest 429 wait we sit out inside one request; longer waits are handed to the caller as PROVIDER_RATE_LIMITED. */
  maxRateLimitWaitMs?: number;
  /**
   * How long a 429 asks us to wait, in ms from now. Default: `Retry-After`, else until
   * `RateLimit-Reset`. A provider whose reset means "bucket full" rather than "next request
   * allowed" (Hetzner) supplies its own reading.
   */
  rateLimitWaitMs?: (headers: ResponseHeaders) => number | undefined;
  parseError: ProviderErrorParser;
  /**
   * The account's request budget shared by every process. Each attempt (retries included)
   * takes from it before going on the wire and reports the answer's headers back; a 429 is
   * then handed to the caller at once instead of being slept out here, because the budget
   * already pauses every process until the provider's reset.
   */
  budget?: RequestBudget;
  /** Source of jitter in [0, 1); replaceable so tests can pin delays. */
  random?: () => number;
  /** Told how each attempt went on the wire (the process's provider metrics). */
  observer?: ProviderCallObserver;
}

export type QueryValue = string | number | boolean | undefined | null | readonly (string | number)[];

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  body?: unknown;
  signal?: AbortSignal;
  /** Overrides the method default (GET/HEAD/PUT/DELETE/OPTIONS are idempotent, POST/PATCH are not). */
  idempotent?: boolean;
  /**
   * Where this request stands when the account's budget runs low. Default: the priority of the
   * surrounding withRequestPriority(), else 'read' for GET/HEAD and 'mutation' for the rest.
   */
  priority?: RequestPriority;
}

export interface HttpResponse<T> {
  status: number;
  headers: ResponseHeaders;
  body: T | undefined;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
const MAX_MESSAGE_CHARS = 500;

/** Resolves after `ms`, or rejects with AbortedError as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError(signal.reason));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A counting semaphore whose waiters can give up when their signal fires. */
class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly max: number) {}

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw new AbortedError(signal.reason);
    if (this.active < this.max) {
      this.active++;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new AbortedError(signal?.reason));
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    // The releasing holder handed its slot straight to us, so `active` is already counted.
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }
}

/** What one attempt produced, before we decide whether to retry. */
type AttemptOutcome =
  | { kind: 'response'; status: number; headers: ResponseHeaders; text: string }
  | { kind: 'timeout' }
  | { kind: 'connection'; detail: string };

export class ProviderHttpClient {
  readonly provider: string;
  private readonly base: URL;
  private readonly headers: Record<string, string>;
  private readonly secrets: string[];
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRateLimitWaitMs: number;
  private readonly parseError: ProviderErrorParser;
  private readonly rateLimitWaitMs: (headers: ResponseHeaders) => number | undefined;
  private readonly random: () => number;
  private readonly limit: ConcurrencyLimit;
  private readonly budget: RequestBudget | undefined;
  private readonly observer: ProviderCallObserver | undefined;
  // node:http with kept-alive sockets costs a fraction of fetch's CPU per request, which
  // matters because every operation polls its provider several times.
  private readonly agent: http.Agent;

  constructor(options: ProviderHttpClientOptions) {
    this.provider = options.provider;
    // A trailing slash makes `new URL('droplets', base)` append instead of replacing the last segment.
    this.base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    this.headers = { ...(options.headers ?? {}) };
    this.secrets = collectSecrets(this.headers);
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.retries = Math.max(0, options.retries ?? 4);
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 8_000;
    this.maxRateLimitWaitMs = options.maxRateLimitWaitMs ?? 60_000;
    this.rateLimitWaitMs = options.rateLimitWaitMs ?? rateLimitWaitMs;
    this.parseError = options.parseError;
    this.random = options.random ?? Math.random;
    this.limit = new ConcurrencyLimit(Math.max(1, options.maxConcurrency ?? 8));
    this.budget = options.budget;
    this.observer = options.observer;
    const agentOptions = { keepAlive: true, maxSockets: Math.max(1, options.maxConcurrency ?? 8) };
    this.agent = this.base.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  /** Closes kept-alive sockets. */
  close(): void {
    this.agent.destroy();
  }

  /**
   * `path` is relative to the base URL (`droplets/1`, `/droplets/1`), or an absolute URL the
   * provider handed out (pagination links) as long as it lies under the base URL.
   */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse<T>> {
    const verb = method.toUpperCase();
    const url = this.resolve(path, options.query);
    const label = `${verb} ${url.pathname}`;
    const idempotent = options.idempotent ?? IDEMPOTENT_METHODS.has(verb);
    const signal = options.signal;
    const priority: RequestPriority =
      options.priority ?? currentRequestPriority() ?? (verb === 'GET' || verb === 'HEAD' ? 'read' : 'mutation');

    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new AbortedError(signal.reason);
      const outcome = await this.attempt(verb, url, options.body, signal, priority);
      const retriesLeft = attempt < this.retries;

      if (outcome.kind === 'response') {
        const { status, headers, text } = outcome;
        if (status >= 200 && status < 300) {
          return { status, headers, body: this.parseSuccessBody<T>(status, text, label) };
        }
        if (status === 429) {
          // A 429 means the request was not processed, so repeating it is safe for any method.
          const waitMs = this.rateLimitWaitMs(headers);
          // The budget has paused the account on every process; sleeping here as well would
          // only hold a job (and a slot) that the caller can park instead.
          if (this.budget) throw this.httpError(status, headers, text, label, waitMs);
          const fits = waitMs === undefined || waitMs <= this.maxRateLimitWaitMs;
          if (retriesLeft && fits) {
            // A reset already in the past would otherwise mean retrying in a tight loop.
            await sleep(waitMs !== undefined && waitMs > 0 ? waitMs : this.backoffMs(attempt), signal);
            continue;
          }
          throw this.httpError(status, headers, text, label, waitMs);
        }
        if (status >= 500 && idempotent && retriesLeft) {
          await sleep(this.backoffMs(attempt, retryAfterMs(headers)), signal);
          continue;
        }
        throw this.httpError(status, headers, text, label);
      }

      if (idempotent && retriesLeft) {
        await sleep(this.backoffMs(attempt), signal);
        continue;
      }
      const tries = attempt + 1;
      const after = tries > 1 ? ` after ${tries} attempts` : '';
      if (outcome.kind === 'timeout') {
        throw this.error({
          code: ErrorCodes.PROVIDER_TIMEOUT,
          retryable: true,
          message: `${label} timed out after ${this.timeoutMs}ms${after}`,
        });
      }
      throw this.error({
        code: ErrorCodes.PROVIDER_UNAVAILABLE,
        retryable: true,
        message: `${label} failed${after}: ${outcome.detail}`,
      });
    }
  }

  /**
   * One try, holding a concurrency slot only while the request is on the wire. The budget is
   * taken after the slot, so the moment the budget records is the moment the request leaves
   * (a request stamped while still queued here would reach the provider later than counted).
   */
  private async attempt(
    method: string,
    url: URL,
    body: unknown,
    callerSignal: AbortSignal | undefined,
    priority: RequestPriority,
  ): Promise<AttemptOutcome> {
    const release = await this.limit.acquire(callerSignal);
    try {
      await this.budget?.take(priority, callerSignal);
      countRequestSent();
      const sentAt = performance.now();
      const outcome = await this.send(method, url, body === undefined ? undefined : JSON.stringify(body), callerSignal);
      this.report(method, outcome, sentAt);
      if (outcome.kind === 'response' && this.budget) {
        // The answer already arrived: a correction that cannot be recorded must not turn a
        // request that succeeded (a create, say) into a failure the caller would repeat.
        await this.budget.settle(outcome.status, outcome.headers).catch(() => undefined);
      }
      return outcome;
    } finally {
      release();
    }
  }

  private send(method: string, url: URL, payload: string | undefined, callerSignal: AbortSignal | undefined): Promise<AttemptOutcome> {
    const call = startProviderCall(this.provider, method, url);
    const headers: Record<string, string | number> = { accept: 'application/json', ...call.headers, ...this.headers };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    return endingCall(call, new Promise<AttemptOutcome>((resolve, reject) => {
      let timedOut = false;
      let settled = false;
      const transport = url.protocol === 'https:' ? https : http;
      // Redirects are not followed (node:http never does): one could carry the credentials elsewhere.
      const req = transport.request(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          settle(() =>
            resolve({ kind: 'response', status: res.statusCode ?? 0, headers: toHeaders(res.headers), text: Buffer.concat(chunks).toString('utf8') }),
          ),
        );
        res.on('error', (err) => fail(err));
      });
      // The timer also covers a body that stalls half-way.
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy(new Error('timeout'));
      }, this.timeoutMs);
      const onAbort = () => req.destroy(new AbortedError(callerSignal?.reason));
      callerSignal?.addEventListener('abort', onAbort, { once: true });
      const settle = (done: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        callerSignal?.removeEventListener('abort', onAbort);
        done();
      };
      const fail = (err: Error) =>
        settle(() => {
          if (callerSignal?.aborted) reject(new AbortedError(callerSignal.reason));
          else if (timedOut) resolve({ kind: 'timeout' });
          else resolve({ kind: 'connection', detail: describeNetworkError(err) });
        });
      req.on('error', fail);
      if (callerSignal?.aborted) {
        onAbort();
        return;
      }
      req.end(payload);
    }));
  }

  /** A caller's abort is not reported: it says nothing about the provider. */
  private report(method: string, outcome: AttemptOutcome, sentAt: number): void {
    if (!this.observer) return;
    const seconds = (performance.now() - sentAt) / 1000;
    try {
      this.observer({ provider: this.provider, method, seconds, outcome: outcome.kind === 'response' ? 'answered' : outcome.kind, ...(outcome.kind === 'response' ? { status: outcome.status } : {}) });
    } catch {
      // Metrics must never fail a provider call.
    }
  }

  private resolve(path: string, query: RequestOptions['query']): URL {
    let url: URL;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
      // Provider-issued links are re-rooted on our base URL so the auth header never travels to another host.
      const given = new URL(path);
      if (!given.pathname.startsWith(this.base.pathname)) {
        throw this.error({
          code: ErrorCodes.PROVIDER_BAD_RESPONSE,
          retryable: false,
          message: `link ${given.pathname} is outside the API base path ${this.base.pathname}`,
        });
      }
      url = new URL(given.pathname.slice(this.base.pathname.length) + given.search, this.base);
    } else {
      url = new URL(path.replace(/^\/+/, ''), this.base);
    }
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined || value === null) continue;
      url.searchParams.delete(key);
      const values = Array.isArray(value) ? value : [value];
      for (const v of values) url.searchParams.append(key, String(v));
    }
    return url;
  }

  private parseSuccessBody<T>(status: number, text: string, label: string): T | undefined {
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw this.error({
        code: ErrorCodes.PROVIDER_BAD_RESPONSE,
        retryable: false,
        providerStatus: status,
        message: `${label} answered ${status} with a body that is not JSON: ${truncate(text)}`,
      });
    }
  }

  private httpError(
    status: number,
    headers: ResponseHeaders,
    text: string,
    label: string,
    rateLimitWait?: number,
  ): ProviderError {
    if (status >= 300 && status < 400) {
      return this.error({
        code: ErrorCodes.PROVIDER_BAD_RESPONSE,
        retryable: false,
        providerStatus: status,
        message: `${label} answered with an unexpected redirect ${status}`,
      });
    }
    let parsedBody: unknown = text;
    try {
      parsedBody = text.trim() === '' ? undefined : JSON.parse(text);
    } catch {
      // Gateways answer 5xx with HTML; the status still tells us what happened.
    }
    let parsed: ParsedProviderError;
    try {
      parsed = this.parseError(status, parsedBody, headers);
    } catch {
      parsed = { message: typeof parsedBody === 'string' ? parsedBody : '' };
    }
    const providerMessage = truncate(parsed.message || defaultStatusText(status));
    const codePart = parsed.providerCode ? ` ${parsed.providerCode}` : '';
    const { code, retryable } = classifyStatus(status);
    // DO sends RateLimit-Reset on every answer, so only a 429 reads it; a 503 only says Retry-After.
    const retryAfterSeconds =
      status === 429
        ? secondsOrUndefined(rateLimitWait ?? this.rateLimitWaitMs(headers))
        : status === 503
          ? secondsOrUndefined(retryAfterMs(headers))
          : undefined;
    return this.error({
      code,
      retryable,
      providerStatus: status,
      providerCode: parsed.providerCode,
      retryAfterSeconds,
      message: `${status}${codePart}: ${providerMessage}`,
    });
  }

  private error(opts: {
    code: ErrorCode;
    retryable: boolean;
    message: string;
    providerStatus?: number;
    providerCode?: string;
    retryAfterSeconds?: number;
  }): ProviderError {
    return new ProviderError({
      ...opts,
      provider: this.provider,
      message: this.redact(`${this.provider}: ${opts.message}`),
    });
  }

  /** Full jitter: a uniform pick below the exponential ceiling, so a crowd of retries spreads out. */
  private backoffMs(attempt: number, atLeastMs?: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** attempt);
    const jittered = Math.floor(this.random() * ceiling);
    return Math.min(this.maxDelayMs, Math.max(jittered, atLeastMs ?? 0));
  }

  private redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('[redacted]');
    return out;
  }
}

/** Ends a call's span (when tracing runs) with how the attempt went. */
function endingCall(call: ProviderCallSpan, sent: Promise<AttemptOutcome>): Promise<AttemptOutcome> {
  return sent.then(
    (outcome) => (call.end(outcome.kind === 'response' ? outcome.status : undefined, outcome.kind === 'response' ? undefined : outcome.kind), outcome),
    (err: unknown) => {
      call.end(undefined, (err as Error)?.message ?? 'aborted');
      throw err;
    },
  );
}

function classifyStatus(status: number): { code: ErrorCode; retryable: boolean } {
  if (status === 401) return { code: ErrorCodes.PROVIDER_UNAUTHORIZED, retryable: false };
  if (status === 403) return { code: ErrorCodes.PROVIDER_FORBIDDEN, retryable: false };
  if (status === 404) return { code: ErrorCodes.PROVIDER_NOT_FOUND, retryable: false };
  if (status === 409) return { code: ErrorCodes.PROVIDER_CONFLICT, retryable: false };
  if (status === 429) return { code: ErrorCodes.PROVIDER_RATE_LIMITED, retryable: true };
  if (status >= 500) return { code: ErrorCodes.PROVIDER_UNAVAILABLE, retryable: true };
  return { code: ErrorCodes.PROVIDER_REJECTED, retryable: false };
}

/** How long a 429 asks us to wait: `Retry-After` first, else until `RateLimit-Reset` (epoch seconds). */
function rateLimitWaitMs(headers: ResponseHeaders): number | undefined {
  const retryAfter = retryAfterMs(headers);
  if (retryAfter !== undefined) return Math.max(0, retryAfter);
  const reset = Number(headers.get('ratelimit-reset'));
  if (headers.get('ratelimit-reset') !== null && Number.isFinite(reset)) {
    return Math.max(0, reset * 1000 - Date.now());
  }
  return undefined;
}

function secondsOrUndefined(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.ceil(ms / 1000);
}

/** Every header value, and the credential part of `Bearer x` / `Basic x`, so none of them can leak into a message. */
function collectSecrets(headers: Record<string, string>): string[] {
  const secrets = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (!/authorization|token|key|secret|auth/i.test(name) || value.length < 4) continue;
    secrets.add(value);
    const credential = value.replace(/^\s*(bearer|basic|token)\s+/i, '');
    if (credential.length >= 4) secrets.add(credential);
  }
  // Longest first so a full header value is replaced before its credential part.
  return [...secrets].sort((a, b) => b.length - a.length);
}

/**
 * node:http's headers (their names already lower-case) read as fetch's Headers reads them, a
 * repeated one joined with ', '. Building a fetch Headers checked every name and value again on
 * each answer, a measurable share of a worker's CPU per operation, for the few that are read.
 */
function toHeaders(raw: IncomingHttpHeaders): ResponseHeaders {
  return {
    get(name: string): string | null {
      const value = raw[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

function describeNetworkError(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    // undici reports every network failure as "fetch failed"; the cause says which one.
    if (cause instanceof Error && cause.message) return cause.message;
    return err.message;
  }
  return String(err);
}

function defaultStatusText(status: number): string {
  return status >= 500 ? 'server error' : 'request failed';
}

function truncate(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_MESSAGE_CHARS ? `${flat.slice(0, MAX_MESSAGE_CHARS)}…` : flat;
}
