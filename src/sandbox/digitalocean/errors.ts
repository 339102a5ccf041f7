/**
 * DigitalOcean's error envelope: `{"id","message","request_id"}` (PROVIDERS.md §1.7).
 * Shared by the simulated API's own errors and by injected faults so both look alike.
 */
import type { Request, Response } from 'express';

export class DoApiError extends Error {
  override name = 'DoApiError';

  constructor(
    readonly status: number,
    readonly errorId: string,
    message: string,
  ) {
    super(message);
  }
}

export const unprocessable = (message: string): DoApiError => new DoApiError(422, 'unprocessable_entity', message);
export const badRequest = (message: string): DoApiError => new DoApiError(400, 'bad_request', message);
export const notFound = (): DoApiError =>
  new DoApiError(404, 'not_found', 'The resource you requested could not be found.');

/** The id/message DigitalOcean uses for a bare status, e.g. for an injected fault. */
export function defaultErrorFor(status: number): { id: string; message: string } {
  switch (status) {
    case 400:
      return { id: 'bad_request', message: 'The request could not be understood.' };
    case 401:
      return { id: 'unauthorized', message: 'Unable to authenticate you' };
    case 403:
      return { id: 'forbidden', message: 'You do not have access for the attempted action.' };
    case 404:
      return { id: 'not_found', message: 'The resource you requested could not be found.' };
    case 409:
      return { id: 'conflict', message: 'The request conflicts with the current state of the resource.' };
    case 422:
      return { id: 'unprocessable_entity', message: 'request payload validation failed' };
    case 429:
      return { id: 'too_many_requests', message: 'API rate limit exceeded.' };
    case 502:
      return { id: 'bad_gateway', message: 'The server received an invalid response from an upstream server.' };
    case 503:
      return { id: 'service_unavailable', message: 'The service is temporarily unavailable. Please try again later.' };
    case 504:
      return { id: 'gateway_timeout', message: 'The server did not receive a timely response from an upstream server.' };
    default:
      return status >= 500
        ? { id: 'server_error', message: 'Unexpected server-side error' }
        : { id: 'bad_request', message: 'The request could not be understood.' };
  }
}

/** The request id assigned by the router's first middleware (also sent as `x-request-id`). */
export function requestIdOf(res: Response): string {
  return typeof res.locals.requestId === 'string' ? res.locals.requestId : '';
}

export function sendDoError(res: Response, status: number, id: string, message: string): void {
  res.status(status).json({ id, message, request_id: requestIdOf(res) });
}

/** Fault-injection writer: the standard body for a bare status. */
export function writeDoFaultError(_req: Request, res: Response, status: number): void {
  const { id, message } = defaultErrorFor(status);
  sendDoError(res, status, id, message);
}
