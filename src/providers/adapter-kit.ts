/**
 * What every adapter does the same way: its errors, id encoding in paths, and progress
 * reports that say a thing once rather than on every poll.
 */
import { ErrorCodes, ProviderError, type ErrorCode } from '../common/errors.js';
import { sleep } from './http-client.js';
import type { CallContext, Provider, ProviderName, ProviderServer, ServerWait, StepOutcome, WaitCheck } from '../common/provider.js';

/** Ids come from callers; encoding keeps an odd one from addressing some other path. */
export function encodeId(providerId: string): string {
  return encodeURIComponent(providerId);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ProviderError && err.code === ErrorCodes.PROVIDER_NOT_FOUND;
}

/** The account's budget or the provider refused the request for now; nothing was carried out. */
export function isRateLimited(err: unknown): boolean {
  return err instanceof ProviderError && err.code === ErrorCodes.PROVIDER_RATE_LIMITED;
}

/** Passes a progress message on only when it differs from the previous one. */
export function progressReporter(ctx: CallContext): (message: string) => void {
  let last = '';
  return (message) => {
    if (message !== last) ctx.onProgress?.(message);
    last = message;
  };
}

/** Final (not retryable) errors of one provider, its name leading every message; `resource` is its word for a server. */
export function adapterErrors(provider: ProviderName, resource: string) {
  const fail = (code: ErrorCode, message: string, providerStatus?: number) =>
    new ProviderError({ provider, code, retryable: false, providerStatus, message: `${provider}: ${message}` });
  return {
    notFound: (providerId: string, what: string) => fail(ErrorCodes.PROVIDER_NOT_FOUND, `${resource} ${providerId} ${what}`, 404),
    actionFailed: (message: string) => fail(ErrorCodes.PROVIDER_ACTION_FAILED, message),
    rejected: (message: string) => fail(ErrorCodes.PROVIDER_REJECTED, message),
    badResponse: (message: string) => fail(ErrorCodes.PROVIDER_BAD_RESPONSE, message),
  };
}

/**
 * Waits one poll interval before the next look at a server or action, or gives up with a
 * retryable PROVIDER_TIMEOUT when that look would come after the deadline.
 */
export async function pollPause(
  provider: ProviderName,
  wait: { deadline: number; pollIntervalMs: number; waitTimeoutMs: number },
  waitingFor: string,
  ctx: CallContext,
): Promise<void> {
  if (Date.now() + wait.pollIntervalMs > wait.deadline) {
    throw new ProviderError({
      provider,
      code: ErrorCodes.PROVIDER_TIMEOUT,
      retryable: true,
      message: `${provider}: gave up waiting for ${waitingFor} after ${wait.waitTimeoutMs}ms`,
    });
  }
  await sleep(wait.pollIntervalMs, ctx.signal);
}

/** What an adapter learnt about one provider action. */
export interface ActionState {
  status: 'running' | 'done' | 'error';
  /** Why it failed, in the provider's words. */
  message?: string;
}

/**
 * Decides one wait from the server as the provider lists it (null: not there) and whatever
 * is known of the wait's actions (an action missing from `actions` was not looked at, so
 * the server's own status decides). The same rules for every provider; adapters only decide
 * how to fetch with the fewest requests, and catch their own quirks before calling this.
 */
export function judgeWait(
  wait: ServerWait,
  server: ProviderServer | null,
  actions: ReadonlyMap<string, ActionState> = new Map(),
  opts: { ipRequired?: boolean } = {},
): WaitCheck {
  for (const id of wait.actionIds ?? []) {
    const action = actions.get(id);
    if (action?.status === 'error') {
      return { state: 'failed', code: ErrorCodes.PROVIDER_ACTION_FAILED, message: `action ${id} failed while waiting for ${wait.label}${action.message ? `: ${action.message}` : ''}` };
    }
  }
  if (wait.until === 'gone') {
    return server === null || server.status === 'gone' ? { state: 'done', server: null } : { state: 'waiting', status: describeServer(server) };
  }
  if (server === null) return { state: 'failed', code: ErrorCodes.PROVIDER_NOT_FOUND, message: `the server disappeared while waiting for ${wait.label}` };
  if (server.status === 'gone') return { state: 'failed', code: ErrorCodes.PROVIDER_ACTION_FAILED, message: `the server was archived while waiting for ${wait.label}` };
  const running = actions.size > 0 && (wait.actionIds ?? []).some((id) => actions.get(id)?.status === 'running');
  const planOk = wait.plan === undefined || server.plan === wait.plan;
  let reached = false;
  if (wait.until === 'running') reached = server.status === 'running' && (server.ipv4 !== null || opts.ipRequired === false);
  else if (wait.until === 'stopped') reached = server.status === 'stopped';
  else reached = server.status === 'running' || server.status === 'stopped';
  if (reached && planOk && !running) return { state: 'done', server };
  return { state: 'waiting', status: describeServer(server) };
}

function describeServer(server: ProviderServer): string {
  const word = server.providerStatus ?? server.status;
  if (server.status === 'running' && server.ipv4 === null) return `${word}, no address yet`;
  if (server.status === 'busy') return `${word}, busy`;
  return word;
}

/** How an adapter waits in its own process (tests, and callers that hold a slot anyway). */
export interface InProcessTiming {
  pollIntervalMs: number;
  waitTimeoutMs: number;
}

/** Polls one wait until it ends, in this process; `failed` becomes a final ProviderError. */
export async function waitInProcess(
  provider: Pick<Provider, 'name' | 'checkWaits'>,
  wait: ServerWait,
  ctx: CallContext,
  timing: InProcessTiming,
): Promise<ProviderServer | null> {
  const deadline = Date.now() + timing.waitTimeoutMs;
  const report = progressReporter(ctx);
  for (;;) {
    const [check] = await provider.checkWaits([wait], ctx);
    if (!check) throw adapterErrors(provider.name, 'server').badResponse(`no answer for the wait on ${wait.label}`);
    if (check.state === 'done') return check.server;
    if (check.state === 'failed') {
      throw new ProviderError({ provider: provider.name, code: check.code as ErrorCode, retryable: false, message: `${provider.name}: ${check.message}` });
    }
    report(`waiting for ${wait.label}: ${check.status}`);
    await pollPause(provider.name, { deadline, ...timing }, wait.label, ctx);
  }
}

/** Runs a step to its end in this process: each move, then its wait, until no move is left. */
export async function driveSteps(
  provider: Pick<Provider, 'name' | 'checkWaits'>,
  step: () => Promise<StepOutcome>,
  ctx: CallContext,
  timing: InProcessTiming,
): Promise<StepOutcome[]> {
  const outcomes: StepOutcome[] = [];
  for (let moves = 0; moves < 20; moves++) {
    const outcome = await step();
    outcomes.push(outcome);
    if (outcome.note) ctx.onProgress?.(outcome.note);
    if (outcome.wait) await waitInProcess(provider, outcome.wait, ctx, timing);
    if (!outcome.again) return outcomes;
  }
  throw adapterErrors(provider.name, 'server').badResponse('a step did not finish after 20 moves');
}

/** How far a provider's clock may lag ours when an action's start is compared with when we began sending it. */
const CLOCK_SKEW_MS = 2000;

/**
 * The newest of `actions` that `matches` and began at or after `since` (less a little clock
 * skew): the action a run that died after `since` may have sent, so a rerun waits for it
 * instead of sending another.
 */
export function newestActionSince<A extends { id: number }>(actions: A[], since: number, startedAt: (a: A) => string | null | undefined, matches: (a: A) => boolean): A | null {
  const after = actions.filter((a) => matches(a) && Date.parse(startedAt(a) ?? '') >= since - CLOCK_SKEW_MS);
  return after.sort((a, b) => b.id - a.id)[0] ?? null;
}
