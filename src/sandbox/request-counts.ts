/**
 * How many requests each simulated provider received per credential, and how many of them it
 * answered 429: what a test needs to check that a fleet of clients stayed inside a provider's
 * limit. Counted once in front of every simulator's router (server.ts), so each provider's
 * own rate limiter, faults and auth are all behind it; served at GET /_sandbox/requests.
 */
import type { Request, RequestHandler } from 'express';
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

  constructor(private readonly clock: Clock) {}

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
