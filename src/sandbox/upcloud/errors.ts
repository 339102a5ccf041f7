/**
 * UpCloud's two error shapes (PROVIDERS.md §4.7), shared by the simulated API's own errors
 * and by injected faults so both look alike:
 *
 * - legacy, used by the 1.3 server endpoints:
 *     {"error":{"error_code":"SERVER_INVALID","error_message":"The server UUID is invalid."}}
 * - RFC 7807 problem+json, used by UpCloud's newer endpoints:
 *     {"type":"https://developers.upcloud.com/1.3/errors#ERROR_SERVER_INVALID","title":"…","status":400,"correlation_id":"…"}
 *
 * Which one the simulator writes is a setting (`errorFormat`), so an adapter's parser can
 * be tested against both.
 */
import type { Request, Response } from 'express';

export type UpCloudErrorFormat = 'legacy' | 'problem';

export const UPCLOUD_ERROR_FORMATS: readonly UpCloudErrorFormat[] = ['legacy', 'problem'];

const PROBLEM_TYPE_BASE = 'https://developers.upcloud.com/1.3/errors#ERROR_';

export class UpCloudApiError extends Error {
  override name = 'UpCloudApiError';

  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    /** Which request fields were wrong; only the problem+json shape can carry them. */
    readonly invalidParams: ReadonlyArray<{ name: string; reason: string }> = [],
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string, param?: string): UpCloudApiError =>
  new UpCloudApiError(400, code, message, param === undefined ? [] : [{ name: param, reason: message }]);

export const serverNotFound = (uuid: string): UpCloudApiError =>
  new UpCloudApiError(404, 'SERVER_NOT_FOUND', `The server ${uuid} does not exist.`);

export const serverInvalid = (): UpCloudApiError => new UpCloudApiError(400, 'SERVER_INVALID', 'The server UUID is invalid.');

export const storageNotFound = (uuid: string): UpCloudApiError =>
  new UpCloudApiError(404, 'STORAGE_NOT_FOUND', `The storage ${uuid} does not exist.`);

/** 409: the operation needs the server in another state (stopped to delete or resize, …). */
export const stateIllegal = (message: string): UpCloudApiError => new UpCloudApiError(409, 'SERVER_STATE_ILLEGAL', message);

/** The code and message UpCloud uses for a bare status, e.g. for an injected fault. */
export function defaultErrorFor(status: number): { code: string; message: string } {
  switch (status) {
    case 400:
      return { code: 'REQUEST_INVALID', message: 'The request is invalid.' };
    case 401:
      return { code: 'AUTHENTICATION_FAILED', message: 'Authentication failed using the given username and password.' };
    case 402:
      return { code: 'INSUFFICIENT_CREDITS', message: 'You do not have enough credits to perform the requested action.' };
    case 403:
      return { code: 'ACTION_FORBIDDEN', message: 'You do not have access to this resource.' };
    case 404:
      return { code: 'NOT_FOUND', message: 'The requested resource was not found.' };
    case 405:
      return { code: 'METHOD_NOT_ALLOWED', message: 'The requested method is not allowed for this resource.' };
    case 409:
      return { code: 'SERVER_STATE_ILLEGAL', message: 'The request conflicts with the current state of the resource.' };
    case 429:
      return { code: 'TOO_MANY_REQUESTS', message: 'Too many requests. Please slow down.' };
    default:
      return status >= 500
        ? { code: 'SERVICE_ERROR', message: 'The service encountered an internal error. Please try again later.' }
        : { code: 'REQUEST_INVALID', message: 'The request is invalid.' };
  }
}

export function sendUpCloudError(res: Response, format: UpCloudErrorFormat, error: UpCloudApiError): void {
  res.status(error.status);
  if (format === 'legacy') {
    res.json({ error: { error_code: error.errorCode, error_message: error.message } });
    return;
  }
  const body: Record<string, unknown> = {
    type: `${PROBLEM_TYPE_BASE}${error.errorCode}`,
    title: error.message,
    status: error.status,
    correlation_id: correlationIdOf(res),
  };
  if (error.invalidParams.length > 0) body.invalid_params = error.invalidParams.map((p) => ({ ...p }));
  res.type('application/problem+json').send(JSON.stringify(body));
}

/** Fault-injection writer: the standard body for a bare status, in the current format. */
export function upCloudFaultWriter(format: () => UpCloudErrorFormat): (req: Request, res: Response, status: number) => void {
  return (_req, res, status) => {
    const { code, message } = defaultErrorFor(status);
    sendUpCloudError(res, format(), new UpCloudApiError(status, code, message));
  };
}

/** The id the router's first middleware gave the request; problem+json reports it as correlation_id. */
function correlationIdOf(res: Response): string {
  return typeof res.locals.correlationId === 'string' ? res.locals.correlationId : '';
}
