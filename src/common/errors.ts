/**
 * Stable error codes. Every error the engine reports to a client, or records on a failed
 * operation, carries one of these codes; `httpStatusFor` is the single table that maps a
 * code to an HTTP status. Add a code here, never invent one at a call site.
 */
export const ErrorCodes = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  INVALID_JSON: 'INVALID_JSON',
  UNAUTHORIZED: 'UNAUTHORIZED',
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  // A mesh message (POST /message) without a valid signature of its sender; the message says what is wrong.
  MESSAGE_SIGNATURE_INVALID: 'MESSAGE_SIGNATURE_INVALID',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  OPERATION_NOT_FOUND: 'OPERATION_NOT_FOUND',
  SERVER_NOT_FOUND: 'SERVER_NOT_FOUND',
  OPERATION_FINISHED: 'OPERATION_FINISHED',
  // A force cancel before a normal cancel was requested and had FORCE_CANCEL_GRACE_MS; `details.allowed_at` says when.
  FORCE_CANCEL_NOT_YET: 'FORCE_CANCEL_NOT_YET',
  // A retry of an operation that is not failed or cancelled, is a workflow step, or is still held by a worker; `details.reason` says which.
  OPERATION_NOT_RETRYABLE: 'OPERATION_NOT_RETRYABLE',
  // A retry of an operation that already has one; `details.retried_by` names it.
  OPERATION_ALREADY_RETRIED: 'OPERATION_ALREADY_RETRIED',
  // A retry of an operation whose secret inputs (user_data) the engine no longer holds.
  RETRY_INPUTS_GONE: 'RETRY_INPUTS_GONE',
  CONFLICT: 'CONFLICT',
  PROVIDER_NOT_CONFIGURED: 'PROVIDER_NOT_CONFIGURED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  // A body in a content-encoding or charset the API does not read.
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  CONSOLE_UNSUPPORTED: 'CONSOLE_UNSUPPORTED',
  // The server's provider has no monitoring API the engine can read metrics from.
  METRICS_UNSUPPORTED: 'METRICS_UNSUPPORTED',
  INTERNAL: 'INTERNAL',
  // Idempotency-Key misuse: the key names another request.
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  TASKSERV_NOT_FOUND: 'TASKSERV_NOT_FOUND',
  WEBHOOK_NOT_FOUND: 'WEBHOOK_NOT_FOUND',
  DELIVERY_NOT_FOUND: 'DELIVERY_NOT_FOUND',
  // Tenancy and identity.
  WORKSPACE_NOT_FOUND: 'WORKSPACE_NOT_FOUND',
  WORKSPACE_EXISTS: 'WORKSPACE_EXISTS',
  NOT_A_MEMBER: 'NOT_A_MEMBER',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  USER_EXISTS: 'USER_EXISTS',
  API_KEY_NOT_FOUND: 'API_KEY_NOT_FOUND',
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  // Over a caller's request budget or stream cap (src/api/middleware/rate-limit.ts).
  RATE_LIMITED: 'RATE_LIMITED',
  // Failures of task service scripts run over SSH, recorded on operations.
  SSH_UNREACHABLE: 'SSH_UNREACHABLE',
  SSH_AUTH_FAILED: 'SSH_AUTH_FAILED',
  SSH_HOST_KEY_MISMATCH: 'SSH_HOST_KEY_MISMATCH',
  TASKSERV_SCRIPT_FAILED: 'TASKSERV_SCRIPT_FAILED',
  // Failures of provider calls, recorded on operations.
  PROVIDER_UNAUTHORIZED: 'PROVIDER_UNAUTHORIZED',
  PROVIDER_FORBIDDEN: 'PROVIDER_FORBIDDEN',
  PROVIDER_NOT_FOUND: 'PROVIDER_NOT_FOUND',
  PROVIDER_REJECTED: 'PROVIDER_REJECTED',
  PROVIDER_CONFLICT: 'PROVIDER_CONFLICT',
  PROVIDER_RATE_LIMITED: 'PROVIDER_RATE_LIMITED',
  PROVIDER_UNAVAILABLE: 'PROVIDER_UNAVAILABLE',
  PROVIDER_TIMEOUT: 'PROVIDER_TIMEOUT',
  PROVIDER_ACTION_FAILED: 'PROVIDER_ACTION_FAILED',
  PROVIDER_BAD_RESPONSE: 'PROVIDER_BAD_RESPONSE',
  // A workflow ended failed because one of its steps did; the message names the step.
  WORKFLOW_STEP_FAILED: 'WORKFLOW_STEP_FAILED',
  // The operation ran past its deadline (OPERATION_DEADLINES); what it made was cleaned up.
  TIMEOUT: 'TIMEOUT',
  // This instance is stopping (POST /shutdown): it takes no new work; another replica does.
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  // Redis did not answer within the request's deadline (down, paused, partitioned): try again later.
  REDIS_UNAVAILABLE: 'REDIS_UNAVAILABLE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

const statusByCode: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  UNAUTHORIZED: 401,
  INVALID_CREDENTIALS: 401,
  MESSAGE_SIGNATURE_INVALID: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  OPERATION_NOT_FOUND: 404,
  SERVER_NOT_FOUND: 404,
  OPERATION_FINISHED: 409,
  FORCE_CANCEL_NOT_YET: 409,
  OPERATION_NOT_RETRYABLE: 409,
  OPERATION_ALREADY_RETRIED: 409,
  RETRY_INPUTS_GONE: 409,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  CONSOLE_UNSUPPORTED: 501,
  METRICS_UNSUPPORTED: 501,
  PROVIDER_NOT_CONFIGURED: 503,
  INTERNAL: 500,
  IDEMPOTENCY_KEY_REUSED: 422,
  TASKSERV_NOT_FOUND: 404,
  WEBHOOK_NOT_FOUND: 404,
  DELIVERY_NOT_FOUND: 404,
  WORKSPACE_NOT_FOUND: 404,
  WORKSPACE_EXISTS: 409,
  NOT_A_MEMBER: 403,
  USER_NOT_FOUND: 404,
  USER_EXISTS: 409,
  API_KEY_NOT_FOUND: 404,
  QUOTA_EXCEEDED: 403,
  RATE_LIMITED: 429,
  SSH_UNREACHABLE: 502,
  SSH_AUTH_FAILED: 502,
  SSH_HOST_KEY_MISMATCH: 502,
  TASKSERV_SCRIPT_FAILED: 502,
  PROVIDER_UNAUTHORIZED: 502,
  PROVIDER_FORBIDDEN: 502,
  PROVIDER_NOT_FOUND: 404,
  PROVIDER_REJECTED: 422,
  PROVIDER_CONFLICT: 409,
  PROVIDER_RATE_LIMITED: 503,
  PROVIDER_UNAVAILABLE: 502,
  PROVIDER_TIMEOUT: 504,
  PROVIDER_ACTION_FAILED: 502,
  PROVIDER_BAD_RESPONSE: 502,
  WORKFLOW_STEP_FAILED: 422,
  TIMEOUT: 504,
  SHUTTING_DOWN: 503,
  REDIS_UNAVAILABLE: 503,
};

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && value in statusByCode;
}

export function httpStatusFor(code: ErrorCode): number {
  return statusByCode[code] ?? 500;
}

/** One problem with one request field; `field` is a JSON-pointer-like path such as `body.plan`. */
export interface FieldProblem {
  field: string;
  problem: string;
}

export class EngineError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
  get httpStatus(): number {
    return httpStatusFor(this.code);
  }
}

export class ValidationError extends EngineError {
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[]) {
    const first = problems[0];
    const summary = first ? `${first.field}: ${first.problem}` : 'request is invalid';
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    super(ErrorCodes.VALIDATION_FAILED, `${summary}${more}`, problems);
    this.problems = problems;
  }
}

export class UnauthorizedError extends EngineError {
  /**
   * Whether the credential was good and has lapsed (expired, its session ended) or could not be
   * checked (the issuer's keys unreachable): the same 401, but no sign that the caller guesses,
   * so the failed-credential throttle does not count it.
   */
  readonly lapsed: boolean;
  constructor(message = 'a valid bearer token is required', opts: { lapsed?: boolean } = {}) {
    super(ErrorCodes.UNAUTHORIZED, message);
    this.lapsed = opts.lapsed ?? false;
  }
}

/** A 401 for a credential that lapsed or could not be checked (see UnauthorizedError.lapsed). */
export class CredentialLapsedError extends UnauthorizedError {
  constructor(message: string) {
    super(message, { lapsed: true });
  }
}

export class ForbiddenError extends EngineError {
  constructor(permission: string) {
    super(ErrorCodes.FORBIDDEN, `this action needs the '${permission}' permission`);
  }
}

/** A submit into a workspace the caller is no member of (or holds no role there that allows it). */
export class NotAMemberError extends EngineError {
  constructor(workspace: string) {
    super(ErrorCodes.NOT_A_MEMBER, `you are not a member of workspace '${workspace}'`, { workspace });
  }
}

export class NotFoundError extends EngineError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
  }
}

export class OperationFinishedError extends EngineError {
  constructor(id: string, status: string) {
    super(ErrorCodes.OPERATION_FINISHED, `operation ${id} is already ${status}`, { status });
  }
}

export class ProviderNotConfiguredError extends EngineError {
  constructor(provider: string, setting: string) {
    super(
      ErrorCodes.PROVIDER_NOT_CONFIGURED,
      `provider '${provider}' is not configured: set ${setting}`,
      { provider, setting },
    );
  }
}

/**
 * A provider call that failed. `retryable` says whether the same call could succeed later
 * (5xx, timeouts, rate limits); 4xx answers are final and keep the provider's own message.
 */
export class ProviderError extends EngineError {
  readonly provider: string;
  readonly retryable: boolean;
  readonly providerStatus?: number;
  readonly providerCode?: string;
  /** Seconds the provider asked us to wait (Retry-After / RateLimit-Reset), when it said. */
  readonly retryAfterSeconds?: number;
  constructor(opts: {
    provider: string;
    code: ErrorCode;
    message: string;
    retryable: boolean;
    providerStatus?: number;
    providerCode?: string;
    retryAfterSeconds?: number;
  }) {
    super(opts.code, opts.message, {
      provider: opts.provider,
      provider_status: opts.providerStatus,
      provider_code: opts.providerCode,
    });
    this.provider = opts.provider;
    this.retryable = opts.retryable;
    this.providerStatus = opts.providerStatus;
    this.providerCode = opts.providerCode;
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

/** Thrown out of provider calls when the operation's AbortSignal fires. */
export class AbortedError extends Error {
  constructor(reason?: unknown) {
    super(typeof reason === 'string' ? reason : 'aborted');
    this.name = 'AbortedError';
  }
}

export function isAbort(err: unknown): boolean {
  return (
    err instanceof AbortedError ||
    (err instanceof Error && (err.name === 'AbortError' || err.name === 'AbortedError'))
  );
}
