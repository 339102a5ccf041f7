/**
 * Hetzner Cloud's error envelope, `{"error":{"code","message","details"}}` (PROVIDERS.md
 * §2.7), shared by the simulated API's own errors and by injected faults so both look alike.
 *
 * The docs name codes but not HTTP statuses. Statuses confirmed by client tests are used as
 * is (not_found 404, unauthorized 401, rate_limit_exceeded 429, uniqueness_error 409); the
 * rest follow HTTP's meaning of each code.
 */
import type { Request, Response } from 'express';

export interface FieldError {
  name: string;
  messages?: string[];
}

export class HetznerApiError extends Error {
  override name = 'HetznerApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> | null = null,
  ) {
    super(message);
  }
}

/** `invalid_input` naming every bad field, worded like Hetzner's "invalid input in field 'x': …". */
export function invalidInput(fields: readonly FieldError[]): HetznerApiError {
  const message = fields
    .map((f) => `invalid input in field '${f.name}'${f.messages?.length ? `: ${f.messages.join(', ')}` : ''}`)
    .join('; ');
  return new HetznerApiError(400, 'invalid_input', message, { fields: fields.map((f) => ({ ...f })) });
}

export const notFound = (what = 'resource'): HetznerApiError => new HetznerApiError(404, 'not_found', `${what} not found`, {});

export const uniquenessError = (field: string, message: string): HetznerApiError =>
  new HetznerApiError(409, 'uniqueness_error', message, { fields: [{ name: field }] });

export const locked = (): HetznerApiError =>
  new HetznerApiError(423, 'locked', 'server is locked: another action is running');

/** Hetzner answers these without a documented status; 409 is HTTP's "conflicts with the resource's state". */
export const serverNotStopped = (): HetznerApiError =>
  new HetznerApiError(409, 'server_not_stopped', 'the action requires a stopped server');

export const invalidServerType = (message: string): HetznerApiError =>
  new HetznerApiError(422, 'invalid_server_type', message);

export const resourceLimitExceeded = (message: string): HetznerApiError =>
  new HetznerApiError(403, 'resource_limit_exceeded', message, { limits: [{ name: 'server_limit' }] });

/** The code and message Hetzner uses for a bare status, e.g. for an injected fault. */
export function defaultErrorFor(status: number): { code: string; message: string } {
  switch (status) {
    case 400:
      return { code: 'invalid_input', message: 'invalid input' };
    case 401:
      return { code: 'unauthorized', message: 'unable to authenticate' };
    case 403:
      return { code: 'forbidden', message: 'insufficient permissions for this request' };
    case 404:
      return { code: 'not_found', message: 'not found' };
    case 409:
      return { code: 'conflict', message: 'the resource has changed during the request, please retry' };
    case 423:
      return { code: 'locked', message: 'the item you are trying to access is locked' };
    case 429:
      return { code: 'rate_limit_exceeded', message: 'limit of requests per hour reached' };
    case 502:
      return { code: 'bad_gateway', message: 'bad gateway' };
    case 503:
      return { code: 'unavailable', message: 'service is currently not available' };
    case 504:
      return { code: 'timeout', message: 'the request could not be answered in time, please retry' };
    default:
      return status >= 500
        ? { code: 'server_error', message: 'error within the API backend' }
        : { code: 'invalid_input', message: 'invalid input' };
  }
}

export function sendHetznerError(
  res: Response,
  status: number,
  code: string,
  message: string,
  details: Record<string, unknown> | null = null,
): void {
  res.status(status).json({ error: { code, message, details } });
}

/** Fault-injection writer: the standard body for a bare status. */
export function writeHetznerFaultError(_req: Request, res: Response, status: number): void {
  const { code, message } = defaultErrorFor(status);
  sendHetznerError(res, status, code, message);
}
