/**
 * What `pe` exits with. A command that waits for an operation exits by the state the
 * operation ended in; anything else exits 0 on success.
 */
export const ExitCode = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  CANCELLED: 3,
  TIMED_OUT: 4,
  API_ERROR: 5,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code for an operation that ended in `status`. */
export function exitCodeForStatus(status: string): ExitCodeValue {
  if (status === 'completed') return ExitCode.OK;
  if (status === 'cancelled') return ExitCode.CANCELLED;
  return ExitCode.FAILED;
}

export const EXIT_CODES_HELP = `
Exit codes:
  0  success; with --wait or "ops wait": the operation completed
  1  the operation failed
  2  usage error (unknown command or option, missing or bad argument)
  3  the operation was cancelled
  4  timed out waiting (--timeout); the operation goes on
  5  the API answered with an error, or could not be reached

Environment:
  PE_URL        the API (default http://localhost:8083)
  PE_TOKEN      a bearer token; wins over the stored login
  PE_API_KEY    an API key (sent as X-API-Key); wins over the stored login
  PE_PASSWORD   the password for "pe login" when no terminal is there to ask
  PE_WORKSPACE  the workspace of creates and submits when --workspace is not given (default "default")
  NO_COLOR      no colour even on a terminal
`;
