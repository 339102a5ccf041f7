/**
 * Fault injection shared by every simulated provider.
 *
 * A rule selects requests (provider, method, path regex) and says what goes wrong:
 * - `status`  answer with that HTTP status in the provider's own error shape,
 * - `latency` wait, then handle the request normally,
 * - `slow_response` handle the request normally (it takes effect), then hold the answer
 *   for `latencyMs`: a client that gives up meanwhile never learns what happened,
 * - `timeout` never answer; the socket stays open until the client gives up or the
 *   sandbox closes.
 *
 * For one request, every matching latency (or slow_response) rule adds its delay, and the first matching
 * status/timeout rule (in insertion order) decides the outcome. Each rule that matched
 * uses up one of its `count`, so a one-shot failure is `{ kind: 'status', status: 503, count: 1 }`.
 */
import type { Request, RequestHandler, Response } from 'express';

export type SandboxProvider = 'digitalocean' | 'hetzner' | 'vultr' | 'upcloud';

const PROVIDERS: readonly SandboxProvider[] = ['digitalocean', 'hetzner', 'vultr', 'upcloud'];

export type FaultKind = 'status' | 'latency' | 'slow_response' | 'timeout';

export interface FaultRule {
  provider?: SandboxProvider;
  /** HTTP method, case-insensitive; omitted = any. */
  method?: string;
  /** Regex source matched against the path after the provider's mount prefix, e.g. '^/v2/droplets$'. */
  path?: string;
  kind: FaultKind;
  /** For `status`: 4xx/5xx to answer with. */
  status?: number;
  /** For `latency`: delay before the request is handled; for `slow_response`: after. */
  latencyMs?: number;
  /** For `status`: adds a `retry-after` header (seconds), as a throttling proxy would. */
  retryAfterSec?: number;
  /** How many matching requests the rule applies to; omitted = unlimited. */
  count?: number;
}

export interface FaultRecord extends FaultRule {
  id: string;
  /** Requests this rule has applied to so far. */
  matched: number;
  /** Applications left, or null when unlimited. */
  remaining: number | null;
}

/** Thrown by `Faults.add` for a malformed rule; the admin API turns it into a 400. */
export class FaultRuleError extends Error {
  override name = 'FaultRuleError';
}

export type FaultOutcome =
  | { kind: 'status'; status: number; retryAfterSec?: number }
  | { kind: 'timeout' };

export interface FaultDecision {
  latencyMs: number;
  responseDelayMs: number;
  outcome: FaultOutcome | null;
}

/** Writes a provider-shaped error body for an injected status. */
export type ProviderErrorWriter = (req: Request, res: Response, status: number) => void;

interface StoredRule {
  record: FaultRecord;
  pathPattern: RegExp | null;
}

export class Faults {
  private rules: StoredRule[] = [];
  private nextId = 1;

  add(rule: FaultRule): string {
    const checked = validateRule(rule);
    const id = String(this.nextId++);
    this.rules.push({
      record: { ...checked, id, matched: 0, remaining: checked.count ?? null },
      pathPattern: checked.path === undefined ? null : new RegExp(checked.path),
    });
    return id;
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.record.id !== id);
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRecord[] {
    return this.rules.map((r) => ({ ...r.record }));
  }

  /** Finds the rules that apply to one request and uses up their counts. */
  take(provider: SandboxProvider, method: string, path: string): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0, responseDelayMs: 0, outcome: null };
    for (const rule of this.rules) {
      const r = rule.record;
      if (r.remaining === 0) continue;
      if (r.provider !== undefined && r.provider !== provider) continue;
      if (r.method !== undefined && r.method.toUpperCase() !== method.toUpperCase()) continue;
      if (rule.pathPattern !== null && !rule.pathPattern.test(path)) continue;

      if (r.kind === 'latency') {
        decision.latencyMs += r.latencyMs ?? 0;
      } else if (r.kind === 'slow_response') {
        decision.responseDelayMs += r.latencyMs ?? 0;
      } else if (decision.outcome === null) {
        decision.outcome =
          r.kind === 'timeout'
            ? { kind: 'timeout' }
            : { kind: 'status', status: r.status as number, retryAfterSec: r.retryAfterSec };
      } else {
        // An earlier rule already decided the outcome; this one is not used up.
        continue;
      }
      r.matched += 1;
      if (r.remaining !== null) r.remaining -= 1;
    }
    return decision;
  }

  /**
   * Express middleware for one provider. `prefix` is where the provider is mounted
   * beyond its own API path ('' for DigitalOcean, whose paths already start at /v2),
   * so rules are written against the paths a provider client actually uses.
   */
  middleware(provider: SandboxProvider, prefix: string, writeError: ProviderErrorWriter): RequestHandler {
    return (req, res, next) => {
      const fullPath = req.originalUrl.split('?')[0] ?? '';
      const path = prefix !== '' && fullPath.startsWith(prefix) ? fullPath.slice(prefix.length) : fullPath;
      const { latencyMs, responseDelayMs, outcome } = this.take(provider, req.method, path);
      if (responseDelayMs > 0) holdResponse(res, responseDelayMs);

      const proceed = (): void => {
        if (outcome === null) {
          next();
        } else if (outcome.kind === 'status') {
          if (outcome.retryAfterSec !== undefined) res.setHeader('retry-after', String(outcome.retryAfterSec));
          writeError(req, res, outcome.status);
        }
        // `timeout`: deliberately never answer. Sandbox.close() destroys the socket.
      };

      if (latencyMs <= 0) {
        proceed();
        return;
      }
      const timer = setTimeout(proceed, latencyMs);
      // A client that gives up must not leave a timer behind holding the process open.
      res.on('close', () => clearTimeout(timer));
    };
  }
}

function validateRule(input: unknown): FaultRule {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultRuleError('a fault rule must be a JSON object');
  }
  const raw = input as Record<string, unknown>;
  const rule: FaultRule = { kind: 'status' };

  if (raw.kind !== 'status' && raw.kind !== 'latency' && raw.kind !== 'slow_response' && raw.kind !== 'timeout') {
    throw new FaultRuleError(`kind must be one of status, latency, slow_response, timeout (got ${JSON.stringify(raw.kind)})`);
  }
  rule.kind = raw.kind;

  if (raw.provider !== undefined) {
    if (!PROVIDERS.includes(raw.provider as SandboxProvider)) {
      throw new FaultRuleError(`provider must be one of ${PROVIDERS.join(', ')}`);
    }
    rule.provider = raw.provider as SandboxProvider;
  }
  if (raw.method !== undefined) {
    if (typeof raw.method !== 'string' || !/^[A-Za-z]+$/.test(raw.method)) {
      throw new FaultRuleError('method must be an HTTP method name');
    }
    rule.method = raw.method.toUpperCase();
  }
  if (raw.path !== undefined) {
    if (typeof raw.path !== 'string') throw new FaultRuleError('path must be a regex source string');
    try {
      new RegExp(raw.path);
    } catch (err) {
      throw new FaultRuleError(`path is not a valid regex: ${(err as Error).message}`);
    }
    rule.path = raw.path;
  }
  if (raw.count !== undefined) {
    if (!Number.isInteger(raw.count) || (raw.count as number) < 1) {
      throw new FaultRuleError('count must be a positive integer');
    }
    rule.count = raw.count as number;
  }

  if (rule.kind === 'status') {
    if (!Number.isInteger(raw.status) || (raw.status as number) < 400 || (raw.status as number) > 599) {
      throw new FaultRuleError('a status fault needs status between 400 and 599');
    }
    rule.status = raw.status as number;
    if (raw.retryAfterSec !== undefined) {
      if (!Number.isInteger(raw.retryAfterSec) || (raw.retryAfterSec as number) < 0) {
        throw new FaultRuleError('retryAfterSec must be a non-negative integer');
      }
      rule.retryAfterSec = raw.retryAfterSec as number;
    }
  }
  if (rule.kind === 'latency' || rule.kind === 'slow_response') {
    if (typeof raw.latencyMs !== 'number' || !Number.isFinite(raw.latencyMs) || raw.latencyMs < 0) {
      throw new FaultRuleError(`a ${rule.kind} fault needs latencyMs >= 0`);
    }
    rule.latencyMs = raw.latencyMs;
  }
  return rule;
}

/** Lets the handler run to completion but delays the bytes of its answer. */
function holdResponse(res: Response, delayMs: number): void {
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  res.end = ((...args: unknown[]) => {
    const timer = setTimeout(() => end(...args), delayMs);
    res.on('close', () => clearTimeout(timer));
    return res;
  }) as Response['end'];
}
