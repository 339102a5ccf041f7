/**
 * What every adapter does the same way: its errors, id encoding in paths, and progress
 * reports that say a thing once rather than on every poll.
 */
import { ErrorCodes, ProviderError, type ErrorCode } from '../core/errors.js';
import { sleep } from './http-client.js';
import type { CallContext, ProviderName } from './types.js';

/** Ids come from callers; encoding keeps an odd one from addressing some other path. */
export function encodeId(providerId: string): string {
  return encodeURIComponent(providerId);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ProviderError && err.code === ErrorCodes.PROVIDER_NOT_FOUND;
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
