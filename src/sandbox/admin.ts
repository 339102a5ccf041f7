/**
 * Admin API under `/_sandbox/`, guarded by the sandbox's own bearer token, so tests can
 * steer a sandbox that runs in another process:
 *
 *   GET    /_sandbox                      providers, base paths, clock
 *   GET    /_sandbox/faults               list fault rules
 *   POST   /_sandbox/faults               add a rule (body = FaultRule) → 201 {id}
 *   DELETE /_sandbox/faults               remove all rules → 204
 *   DELETE /_sandbox/faults/:id           remove one rule → 204 / 404
 *   GET    /_sandbox/:provider/config     current behaviour of one provider
 *   POST   /_sandbox/:provider/config     change delays / rate limit / pending failures
 *   GET    /_sandbox/requests             requests each provider received per credential since the
 *                                         last reset: {"digitalocean": {"<token>": {"requests": n,
 *                                         "rate_limited": m, "max_per_minute": k}}, …}; rate_limited
 *                                         counts 429 answers (limiter or fault), max_per_minute the
 *                                         most in any rolling 60 s; UpCloud's HTTP Basic is keyed
 *                                         "basic:<user>", no credential "anonymous"
 *   GET    /_sandbox/requests/log         the mutating requests (POST, PUT, PATCH, DELETE) the providers
 *                                         received, oldest first: {"entries": [{seq, provider, method, path,
 *                                         query, at, status, delivered, body}], "last": n, "dropped": m};
 *                                         `?after=<seq>` reads on from there, `?limit=` (default and
 *                                         most 10000); status null = never answered (see request-counts.ts)
 *   POST   /_sandbox/reset                forget all resources, faults, rate-limit history and request counts → 204
 *   GET    /_sandbox/clock                {now}
 *   POST   /_sandbox/clock                {advanceMs} or {setMs}; only with a manual clock (else 409)
 *
 * Errors here are the sandbox's own `{error, message}`, deliberately unlike any provider.
 */
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import type { Clock, ManualClock } from './clock.js';
import { FaultRuleError, type Faults } from './faults.js';
import type { RequestCountsReport, RequestLog } from './request-counts.js';
import type { ProviderSimulator } from './server.js';

export interface AdminDependencies {
  token: string;
  faults: Faults;
  providers: readonly ProviderSimulator[];
  reset: () => void;
  clock: Clock;
  /** Present only when the sandbox runs on a manual clock, which the admin API may move. */
  manualClock: ManualClock | undefined;
  requestCounts: () => RequestCountsReport;
  /** The mutating requests the simulators received (GET /_sandbox/requests/log). */
  requestLog: RequestLog;
}

class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function createAdminRouter(deps: AdminDependencies): Router {
  const router = Router();

  router.use((req, res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (match?.[1] === deps.token) return next();
    res.status(401).json({ error: 'unauthorized', message: 'the admin API needs the sandbox token as a bearer token' });
  });

  router.use(express.json({ type: () => true, limit: '100kb' }));

  router.get('/', (_req, res) => {
    res.json({
      providers: Object.fromEntries(deps.providers.map((p) => [p.provider, { mountPath: p.mountPath }])),
      clock: { now: deps.clock.now(), manual: deps.manualClock !== undefined },
    });
  });

  router.get('/faults', (_req, res) => {
    res.json({ faults: deps.faults.list() });
  });

  router.post('/faults', (req, res) => {
    try {
      res.status(201).json({ id: deps.faults.add(req.body) });
    } catch (err) {
      if (err instanceof FaultRuleError) throw new AdminError(400, 'invalid_fault', err.message);
      throw err;
    }
  });

  router.delete('/faults', (_req, res) => {
    deps.faults.clear();
    res.status(204).end();
  });

  router.delete('/faults/:id', (req, res) => {
    if (!deps.faults.remove(String(req.params.id))) {
      throw new AdminError(404, 'not_found', `no fault rule with id ${req.params.id}`);
    }
    res.status(204).end();
  });

  router.get('/requests', (_req, res) => {
    res.json(deps.requestCounts());
  });

  router.get('/requests/log', (req, res) => {
    const after = nonNegativeInt(req.query.after, 'after') ?? 0;
    const limit = Math.min(REQUEST_LOG_PAGE_MAX, nonNegativeInt(req.query.limit, 'limit') ?? REQUEST_LOG_PAGE_MAX);
    res.json(deps.requestLog.page(after, limit));
  });

  router.post('/reset', (_req, res) => {
    deps.reset();
    res.status(204).end();
  });

  router.get('/clock', (_req, res) => {
    res.json({ now: deps.clock.now(), manual: deps.manualClock !== undefined });
  });

  router.post('/clock', (req, res) => {
    const clock = deps.manualClock;
    if (clock === undefined) {
      throw new AdminError(409, 'clock_not_manual', 'this sandbox runs on the system clock');
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    try {
      if (typeof body.advanceMs === 'number') clock.advance(body.advanceMs);
      else if (typeof body.setMs === 'number') clock.set(body.setMs);
      else throw new RangeError('body must be {"advanceMs": n} or {"setMs": epochMs}');
    } catch (err) {
      throw new AdminError(400, 'invalid_clock_change', (err as Error).message);
    }
    res.json({ now: clock.now(), manual: true });
  });

  router.get('/:provider/config', (req, res) => {
    res.json(providerNamed(deps.providers, req.params.provider).config());
  });

  router.post('/:provider/config', (req, res) => {
    const provider = providerNamed(deps.providers, req.params.provider);
    try {
      res.json(provider.configure(req.body));
    } catch (err) {
      // configure() only throws for a patch it cannot accept.
      throw new AdminError(400, 'invalid_config', (err as Error).message);
    }
  });

  router.use(() => {
    throw new AdminError(404, 'not_found', 'unknown admin endpoint');
  });

  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof AdminError) {
      res.status(err.status).json({ error: err.code, message: err.message });
    } else if (typeof err === 'object' && err !== null && (err as { type?: unknown }).type === 'entity.parse.failed') {
      res.status(400).json({ error: 'invalid_json', message: 'request body is not valid JSON' });
    } else {
      res.status(500).json({ error: 'internal', message: (err as Error)?.message ?? 'unexpected error' });
    }
  });

  return router;
}

const REQUEST_LOG_PAGE_MAX = 10_000;

function nonNegativeInt(raw: unknown, name: string): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) throw new AdminError(400, 'invalid_query', `${name} must be a non-negative integer`);
  return Number(raw);
}

function providerNamed(providers: readonly ProviderSimulator[], name: string | string[] | undefined): ProviderSimulator {
  const provider = providers.find((p) => p.provider === name);
  if (provider === undefined) {
    throw new AdminError(404, 'unknown_provider', `no simulated provider named ${JSON.stringify(name)}`);
  }
  return provider;
}
