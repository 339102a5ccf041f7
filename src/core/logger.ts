import winston from 'winston';

/**
 * JSON-lines logger. Call sites pass `trace_id`, `operation_id` and `workspace` as fields so a
 * request can be followed from the API into its job and provider calls. Secrets are never
 * passed here; `redact` is a last guard for fields that commonly carry them.
 */
const SECRET_FIELDS = new Set(['password', 'token', 'authorization', 'refresh_token', 'secret', 'user_data']);

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_FIELDS.has(key.toLowerCase())) (info as Record<string, unknown>)[key] = '[redacted]';
  }
  return info;
});

export type Logger = winston.Logger;

export function createLogger(service: string, level = 'info'): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { service, pid: process.pid },
    format: winston.format.combine(redact(), winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
}
