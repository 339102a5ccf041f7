import type { NextFunction, Request, Response } from 'express';
import type { InstanceControl } from '../../core/control/instance-control.js';
import { EngineError, ErrorCodes } from '../../common/errors.js';
import { engineErrorReply } from './errors.js';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Still taken while draining: an operator may stop a draining instance at once, or ask again. */
const STOPS = /^\/(shutdown|emergency-stop)\/?$/i;
/** How long a client should wait before trying again (another replica, or this one restarted). */
const RETRY_AFTER_SECONDS = '5';

/**
 * Once a scheduled shutdown has begun: readiness answers 503 (a load balancer sends no more
 * traffic here) and new mutating requests get 503 SHUTTING_DOWN, in the error shape of their
 * family, with Retry-After; reads are still answered while the requests in hand finish.
 */
export function refuseWhileDraining(control: InstanceControl) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const draining = control.draining();
    if (!draining) return next();
    const why = `this instance is shutting down (${draining.reason || 'no reason given'}); it takes no new work, retry on another replica`;
    if (req.path === '/health/ready') {
      res.status(503).json({
        status: 'DEGRADED',
        checks: { api: 'DISCONNECTED' },
        failing: ['api'],
        details: { api: { status: 'DISCONNECTED', error: why } },
        time: new Date().toISOString(),
      });
      return;
    }
    if (READS.has(req.method) || STOPS.test(req.path)) return next();
    const err = new EngineError(ErrorCodes.SHUTTING_DOWN, why);
    res.locals.answeredError = { code: err.code, message: err.message };
    res.setHeader('Retry-After', RETRY_AFTER_SECONDS);
    if (req.path.startsWith('/v1/') || req.path === '/v1') {
      const { status, body } = engineErrorReply(err, (res.locals.traceId as string) ?? '');
      res.status(status).json(body);
      return;
    }
    res.status(503).json({ detail: why });
  };
}
