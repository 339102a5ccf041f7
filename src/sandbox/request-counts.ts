/**
 * How many requests each simulated provider received per credential, and how many of them it
 * answered 429: what a test needs to check that a fleet of clients stayed inside a provider's
 * limit. Counted once in front of every simulator's router (server.ts), so each provider's
 * own rate limiter, faults and auth are all behind it; served at GET /_sandbox/requests.
 *
 * Beside the counts, every mutating request (POST, PUT, PATCH, DELETE) is written to a log
 * with its path, arrival time, the status the simulator answered and its JSON body, so a test
 * can see which creates and power actions reached a provider, and how often, after the fact;
 * served at GET /_sandbox/requests/log.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Clock } from './clock.js';

const MINUTE_MS = 60_000;

export interface CredentialRequestCounts {
  requests: number;
  /** Answered 429, by the provider's rate limiter or an injected fault. */
  rate_limited: number;
  /** The most requests that arrived within any rolling 60 s. */
  max_per_minute: number;
}

/** provider → credential (the bearer token, `basic:<user>`, or `anonymous`) → counts. */
export type RequestCountsReport = Record<string, Record<string, CredentialRequestCounts>>;

interface Tally extends CredentialRequestCounts {
  /** Arrival times of the last minute's requests, oldest first. */
  recent: number[];
}

export class RequestCounts {
  private readonly tallies = new Map<string, Map<string, Tally>>();
  /** The mutating requests, in arrival order. */
  readonly log: RequestLog;

  constructor(private readonly clock: Clock) {
    this.log = new RequestLog(clock);
  }

  /** Counts each request on arrival, and its 429 when the answer goes out. */
  middleware(provider: string): RequestHandler {
    return (req, res, next) => {
      const tally = this.tallyFor(provider, credentialOf(req));
      const now = this.clock.now();
      tally.requests++;
      tally.recent.push(now);
      while (tally.recent.length > 0 && tally.recent[0]! <= now - MINUTE_MS) tally.recent.shift();
      tally.max_per_minute = Math.max(tally.max_per_minute, tally.recent.length);
      res.once('finish', () => {
        if (res.statusCode === 429) tally.rate_limited++;
      });
      if (LOGGED_METHODS.has(req.method)) this.log.record(provider, req, res);
      next();
    };
  }

  report(): RequestCountsReport {
    const report: RequestCountsReport = {};
    for (const [provider, byCredential] of this.tallies) {
      report[provider] = {};
      for (const [credential, { requests, rate_limited, max_per_minute }] of byCredential) {
        report[provider][credential] = { requests, rate_limited, max_per_minute };
      }
    }
    return report;
  }

  reset(): void {
    this.tallies.clear();
    this.log.clear();
  }

  private tallyFor(provider: string, credential: string): Tally {
    let byCredential = this.tallies.get(provider);
    if (!byCredential) this.tallies.set(provider, (byCredential = new Map()));
    let tally = byCredential.get(credential);
    if (!tally) byCredential.set(credential, (tally = { requests: 0, rate_limited: 0, max_per_minute: 0, recent: [] }));
    return tally;
  }
}

/** The bearer token, or the user name of HTTP Basic (UpCloud), never its password. */
function credentialOf(req: Request): string {
  const header = req.headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1]!;
  const basic = /^Basic\s+(\S+)\s*$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    return `basic:${decoded.split(':')[0]}`;
  }
  return 'anonymous';
}

const LOGGED_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The most entries kept; older ones are dropped first (and counted in `dropped`). */
export const REQUEST_LOG_LIMIT = 200_000;

/** One mutating request a simulated provider received. */
export interface RequestLogEntry {
  /** 1, 2, 3, … in arrival order; never reused, not even after a reset. */
  seq: number;
  provider: string;
  method: string;
  /** The whole path as sent, without the query string (e.g. `/hetzner/v1/servers/7/actions/reboot`). */
  path: string;
  /** The query string without its `?`, or ''. */
  query: string;
  /** Arrival, epoch ms on the sandbox's clock. */
  at: number;
  /**
   * The status the sandbox answered with (a simulator's own answer, its rate limiter's 429 or
   * an injected fault's status), or null while unanswered: still in progress, held forever by a
   * `timeout` fault, or abandoned by the client before it was handled. A 2xx means the request
   * took effect.
   */
  status: number | null;
  /** Whether the answer reached the client; false for one a `slow_response` fault still held when the client gave up. */
  delivered: boolean;
  /** The JSON body as the simulator parsed it, without user data; null when there was none. */
  body: unknown;
  /** The `X-Trace-Id` the caller sent (the engine sends its operation's trace id), or null; absent in entries made by hand. */
  trace_id?: string | null;
}

export interface RequestLogPage {
  entries: RequestLogEntry[];
  /** Pass as `after` to read on; the last `seq` returned, or `after` itself when nothing was. */
  last: number;
  /** Entries dropped because the log was full. */
  dropped: number;
}

/** Every mutating request the simulators received, bounded by REQUEST_LOG_LIMIT. */
export class RequestLog {
  private entries: RequestLogEntry[] = [];
  private nextSeq = 1;
  private dropped = 0;

  constructor(private readonly clock: Clock) {}

  record(provider: string, req: Request, res: Response): void {
    const url = req.originalUrl;
    const q = url.indexOf('?');
    const entry: RequestLogEntry = {
      seq: this.nextSeq++,
      provider,
      method: req.method,
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q + 1),
      at: this.clock.now(),
      status: null,
      delivered: false,
      body: null,
      trace_id: typeof req.headers['x-trace-id'] === 'string' ? req.headers['x-trace-id'].slice(0, 128) : null,
    };
    this.entries.push(entry);
    if (this.entries.length > REQUEST_LOG_LIMIT) {
      this.entries.shift();
      this.dropped++;
    }
    // Whoever answers (simulator, rate limiter, fault, error handler) goes through one of these.
    let answered = false;
    for (const method of ['status', 'sendStatus', 'send', 'json'] as const) {
      const original = res[method] as (...args: unknown[]) => unknown;
      (res as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        answered = true;
        return original.apply(res, args);
      };
    }
    const settle = (delivered: boolean) => {
      if (answered || delivered) entry.status = res.statusCode;
      entry.delivered = delivered;
      entry.body = withoutUserData(req.body);
    };
    res.once('finish', () => settle(true));
    res.once('close', () => {
      if (!res.writableFinished) settle(false);
    });
  }

  /** Entries with `seq` greater than `after`, oldest first, at most `limit`. */
  page(after: number, limit: number): RequestLogPage {
    // Sequence numbers are dense, so the first entry wanted is found by arithmetic.
    const first = this.entries[0]?.seq ?? this.nextSeq;
    const start = Math.max(0, after + 1 - first);
    const entries = this.entries.slice(start, start + limit).map((e) => ({ ...e }));
    return { entries, last: entries.at(-1)?.seq ?? after, dropped: this.dropped };
  }

  clear(): void {
    this.entries = [];
    this.dropped = 0;
  }
}

/** The body without its `user_data` (at any depth): scripts and keys are large and nobody asks for them here. */
function withoutUserData(value: unknown, depth = 0): unknown {
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object' || depth > 6) return value;
  if (Array.isArray(value)) return value.map((v) => withoutUserData(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (/^user[-_]?data$/i.test(key)) continue;
    out[key] = withoutUserData(v, depth + 1);
  }
  return out;
}
