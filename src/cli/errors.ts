import { ExitCode, type ExitCodeValue } from './exit-codes.js';

/** An error `pe` reports in one message (never a stack trace) and exits with `exitCode`. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: ExitCodeValue = ExitCode.API_ERROR, readonly lines: string[] = []) {
    super(message);
    this.name = 'CliError';
  }
}

/** Bad or missing arguments that commander itself cannot check (exit 2). */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.USAGE);
    this.name = 'UsageError';
  }
}

export interface FieldProblem {
  field: string;
  problem: string;
}

/**
 * An error answer of the API. `/v1` answers `{"error": "CODE", "message", "code": "400",
 * "details": [{field, problem}], "trace_id"}`; a nested `{"error": {code, message, details}}`
 * and the multi-cloud `{"detail": …}` are read too.
 */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: FieldProblem[],
    readonly body: unknown,
    readonly traceId?: string,
  ) {
    super(message, ExitCode.API_ERROR);
    this.name = 'ApiError';
  }

  static from(status: number, body: unknown, fallback: string): ApiError {
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const nested = b.error && typeof b.error === 'object' ? (b.error as Record<string, unknown>) : null;
    const code = String(nested?.code ?? (typeof b.error === 'string' ? b.error : '') ?? '') || `HTTP_${status}`;
    const message =
      (typeof (nested?.message ?? b.message) === 'string' ? String(nested?.message ?? b.message) : '') ||
      (typeof b.detail === 'string' ? b.detail : '') ||
      (typeof body === 'string' && body.trim() ? body.trim().slice(0, 300) : fallback);
    const details = nested?.details ?? b.details;
    const problems: FieldProblem[] = [];
    if (Array.isArray(details)) {
      for (const d of details) {
        if (d && typeof d === 'object' && 'field' in d) problems.push({ field: String((d as FieldProblem).field), problem: String((d as FieldProblem).problem ?? '') });
      }
    }
    const err = new ApiError(status, code, message, problems, body, typeof b.trace_id === 'string' ? b.trace_id : undefined);
    // Details that are not field problems (`{"status": "completed"}`, `{"allowed_at": …}`) are said as they are.
    if (details && typeof details === 'object' && !Array.isArray(details)) {
      for (const [k, v] of Object.entries(details as Record<string, unknown>)) err.lines.push(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    }
    return err;
  }
}

/** The API could not be reached at all. */
export class ConnectionError extends CliError {
  constructor(readonly url: string, readonly reason: string) {
    super(`cannot reach ${url}: ${reason}`, ExitCode.API_ERROR);
    this.name = 'ConnectionError';
  }
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'no answer in time',
};

/** A short reason for a failed fetch ("connection refused"), from the error or its causes. */
export function networkReason(err: unknown): string {
  let e = err as { code?: string; cause?: unknown; message?: string; errors?: unknown[] } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e.code && REASONS[e.code]) return REASONS[e.code]!;
    if (Array.isArray(e.errors) && e.errors.length > 0) e = e.errors[0] as typeof e;
    else if (e.cause) e = e.cause as typeof e;
    else break;
  }
  const code = (e as { code?: string } | undefined)?.code;
  return code ? code.toLowerCase() : (e?.message ?? String(err));
}
