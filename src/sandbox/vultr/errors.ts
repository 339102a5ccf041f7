/**
 * Vultr's error envelope: `{"error":"…","status":N}` (PROVIDERS.md §3.7), with the
 * messages the real API is known to send where they are known. Shared by the simulated
 * API's own errors and by injected faults so both look alike.
 */
import type { Request, Response } from 'express';

export class VultrApiError extends Error {
  override name = 'VultrApiError';

  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string): VultrApiError => new VultrApiError(400, message);
export const instanceNotFound = (): VultrApiError => new VultrApiError(404, 'Invalid instance-id.');
export const routeNotFound = (): VultrApiError => new VultrApiError(404, 'Not found.');
/** What Vultr answers while another task (boot, power change, plan change) holds the instance. */
export const locked = (): VultrApiError => new VultrApiError(400, 'Server is currently locked');

export const UNAUTHORIZED_MESSAGE = 'Invalid API token.';
export const RATE_LIMITED_MESSAGE = 'Rate limit reached - please try your request again later.';

/** The message Vultr uses for a bare status, e.g. for an injected fault. */
export function defaultMessageFor(status: number): string {
  switch (status) {
    case 400:
      return 'Bad request.';
    case 401:
      return UNAUTHORIZED_MESSAGE;
    case 403:
      return 'Forbidden.';
    case 404:
      return 'Not found.';
    case 429:
      return RATE_LIMITED_MESSAGE;
    case 502:
      return 'Bad gateway.';
    case 503:
      return 'Service temporarily unavailable.';
    case 504:
      return 'Gateway timeout.';
    default:
      return status >= 500 ? 'Internal server error.' : 'Bad request.';
  }
}

export function sendVultrError(res: Response, status: number, message: string): void {
  res.status(status).json({ error: message, status });
}

/** Fault-injection writer: the standard body for a bare status. */
export function writeVultrFaultError(_req: Request, res: Response, status: number): void {
  sendVultrError(res, status, defaultMessageFor(status));
}
