import type { NextFunction, Request, Response } from 'express';
import type { ApiMetrics } from '../../core/metrics/index.js';

/**
 * Times each request into the HTTP histogram, labelled by the route's template as documented
 * (`/v1/operations/{id}`) so label values stay few whatever paths clients send; a request no
 * declared route matched (404s, the dashboard's and the docs' files) counts as `unmatched`.
 */
export function httpMetrics(metrics: ApiMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const template = typeof req.route?.path === 'string' ? `${req.baseUrl}${req.route.path}`.replace(/:(\w+)/g, '{$1}') : 'unmatched';
      metrics.observe(req.method, template, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
