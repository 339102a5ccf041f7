/**
 * The request budget of one provider account, as the HTTP client sees it. A provider's rate
 * limit belongs to the account (DigitalOcean counts per token, Hetzner per project), not to a
 * process, so every API replica and worker must draw on the same budget; the implementation
 * that shares it through Redis lives in src/core/rate-budget/. This file holds only what the
 * HTTP client needs, so providers do not depend on the engine's core.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { ErrorCodes, ProviderError } from '../common/errors.js';
import type { WaitCheck } from '../common/provider.js';
import type { ResponseHeaders } from '../common/retry-after.js';

/**
 * Who goes first when the budget runs low: creates, deletes and actions ('mutation') may use
 * the whole limit, other reads leave a small reserve for them, and the watchers' polls
 * ('poll') give way well before the limit so a backlog of polls cannot starve real work.
 */
export type RequestPriority = 'mutation' | 'read' | 'poll';

export interface RequestBudget {
  /**
   * Waits (at most a short in-process wait, ~2 s) until this process may send one request to
   * the account. When the budget frees later than that, throws RequestBudgetExhaustedError (a
   * ProviderError {code: PROVIDER_RATE_LIMITED, retryable: true, retryAfterSeconds}) WITHOUT
   * sending, so the caller can park its job. Rejects with AbortedError when the signal fires.
   */
  take(priority: RequestPriority, signal?: AbortSignal): Promise<void>;
  /**
   * Every answer's status and headers: corrects the budget from the provider's rate-limit
   * headers (e.g. DigitalOcean ratelimit-remaining/ratelimit-reset, Hetzner RateLimit-Remaining);
   * a 429 pauses the whole account on every process until its Retry-After / reset.
   */
  settle(status: number, headers: ResponseHeaders): Promise<void>;
}

/**
 * "The budget says wait": the request was never sent. A ProviderError with the same code as a
 * provider's own 429, so callers park the job the same way; `providerStatus` is absent because
 * the provider never saw it.
 */
export class RequestBudgetExhaustedError extends ProviderError {
  constructor(provider: string, waitMs: number) {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    super({
      provider,
      code: ErrorCodes.PROVIDER_RATE_LIMITED,
      retryable: true,
      retryAfterSeconds: seconds,
      message: `${provider}: the account's shared request budget is spent; next request allowed in about ${seconds}s (not sent)`,
    });
  }
}

interface PriorityScope {
  priority: RequestPriority;
  /** Requests sent from inside the scope so far (attempts that reached the wire). */
  sent: number;
}

const priorityScope = new AsyncLocalStorage<PriorityScope>();

/**
 * Runs `fn` with every provider request made inside it (however deep, across awaits) at
 * `priority`, unless a request names its own. Lets the poll watcher mark its polls without
 * each adapter passing a priority through.
 */
export async function withRequestPriority<T>(priority: RequestPriority, fn: () => Promise<T>): Promise<T> {
  return (await countingRequests(priority, fn)).result;
}

/** As withRequestPriority, and says how many requests `fn` sent: what one watcher round cost. */
export async function countingRequests<T>(priority: RequestPriority, fn: () => Promise<T>): Promise<{ result: T; sent: number }> {
  const outer = priorityScope.getStore();
  const scope: PriorityScope = { priority, sent: 0 };
  try {
    const result = await priorityScope.run(scope, fn);
    return { result, sent: scope.sent };
  } finally {
    // A scope inside another (a watcher round's reads at another priority) still counts toward it.
    if (outer) outer.sent += scope.sent;
  }
}

export function currentRequestPriority(): RequestPriority | undefined {
  return priorityScope.getStore()?.priority;
}

/** Counts one request sent within the current scope, if any (the HTTP client calls it). */
export function countRequestSent(): void {
  const scope = priorityScope.getStore();
  if (scope) scope.sent++;
}

/** What identifies a provider account: where its API is and the credential it is called with. */
export interface AccountCredentials {
  baseUrl: string;
  token?: string;
  username?: string;
  password?: string;
}

/**
 * A short, stable id of one provider account: sha256 of the API base URL and the credential,
 * so two tokens (or the sandbox and the real API) are two budgets, and no Redis key or log line
 * carries the credential itself.
 */
export function providerAccountId(provider: string, credentials: AccountCredentials): string {
  const credential = credentials.token ?? `${credentials.username ?? ''}:${credentials.password ?? ''}`;
  const baseUrl = credentials.baseUrl.replace(/\/+$/, '');
  return createHash('sha256').update(`${provider}\n${baseUrl}\n${credential}`).digest('hex').slice(0, 16);
}

/**
 * A wait a watcher round did not get to look at: its request was refused (the account's
 * budget, a 429) or the round had spent its reads before reaching it. It is still waiting as
 * far as anyone knows; `status` says it is read at the next look, and the watcher looks again
 * as soon as it may (after `retryAfterMs`) instead of at the wait's usual, slower pace. A
 * round that answers this for the waits it could not read keeps what it learned of the rest,
 * instead of being thrown away whole for one refusal.
 */
export type DeferredCheck = Extract<WaitCheck, { state: 'waiting' }> & { deferred: { retryAfterMs: number } };

/** A deferred look; `cause` is what cut the round short, if anything (its retry-after is kept). */
export function deferLook(status: string, cause?: unknown): DeferredCheck {
  const seconds = cause instanceof ProviderError ? cause.retryAfterSeconds : undefined;
  return { state: 'waiting', status, deferred: { retryAfterMs: Math.max(0, (seconds ?? 0) * 1000) } };
}

/** How long until a deferred look may be taken, or undefined when `check` was a look taken. */
export function deferredLook(check: WaitCheck): { retryAfterMs: number } | undefined {
  const deferred = (check as Partial<DeferredCheck>).deferred;
  return check.state === 'waiting' && deferred && typeof deferred.retryAfterMs === 'number' ? deferred : undefined;
}
