import { createHash, timingSafeEqual } from 'node:crypto';
import { Access } from '../../core/auth/access.js';
import type { Authenticator } from '../../core/auth/authenticate.js';
import { ForbiddenError } from '../../common/errors.js';
import type { ApiMetrics } from '../../core/metrics/index.js';
import type { RouteMounter } from '../route.js';

const ERROR = { $ref: '#/components/schemas/Error' };

function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * `GET /metrics`: Prometheus text. A scraper sends `Authorization: Bearer <METRICS_TOKEN>`
 * when that is configured; otherwise (or besides) any bearer token or API key whose holder has
 * `system_metrics` may read it.
 */
/** `metricsToken` is read on every scrape: a reload (POST /reload-config) that changes METRICS_TOKEN is in force at once. */
export function prometheusRoutes(route: RouteMounter, metrics: ApiMetrics, metricsToken: () => string | null, authenticator: Authenticator): void {
  route({
    method: 'GET', path: '/metrics', operationId: 'getPrometheusMetrics', tag: 'system', summary: 'Metrics in the Prometheus text format', auth: false,
    description: [
      'The mesh `droplet_*` series, this API process\'s default metrics and request-duration histogram, and the engine\'s series read from Redis at scrape time (operations by type and status, finishes in the last hour, queue depth and oldest waiting job per provider, rate-limit budgets, live workers): every API replica reports the same engine-wide values.',
      'Beside them, the engine\'s counters and histograms that each process keeps for itself (operations finished by type and state, their durations, provider request latency, provider errors and 429s, cancellations, retries, workflow steps), summed over this API process and every other process (workers, other API replicas), which write theirs to Redis every few seconds (`METRICS_PUSH_MS`): every replica answers the same sums, so scrape one. A stopped process\'s counts leave the sums once its last write lapses.',
      'Answers `text/plain; version=0.0.4`. Send `Authorization: Bearer <METRICS_TOKEN>` when that setting is configured, or a bearer token or `X-API-Key` holding the `system_metrics` permission (global admins).',
    ].join('\n\n'),
    responses: {
      200: { description: 'Prometheus text exposition format (`text/plain; version=0.0.4`)' },
      401: { description: 'No credential, or one that is neither the metrics token nor a valid token or API key', schema: ERROR },
      403: { description: 'The caller lacks `system_metrics`', schema: ERROR },
      503: { description: 'Redis did not answer within the scrape\'s deadline (5 s): `REDIS_UNAVAILABLE`', schema: ERROR },
    },
    handler: async ({ headers }) => {
      const authorization = typeof headers.authorization === 'string' ? headers.authorization : undefined;
      const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
      const token = metricsToken();
      const byToken = token !== null && bearer !== undefined && sameSecret(bearer, token);
      if (!byToken) {
        const apiKey = headers['x-api-key'];
        const identity = await authenticator.authenticate({ authorization, apiKey: Array.isArray(apiKey) ? apiKey[0] : apiKey });
        if (!new Access(identity).can('system_metrics')) throw new ForbiddenError('system_metrics');
      }
      const text = await metrics.text();
      return {
        stream: async (_req, res) => {
          res.status(200).type(metrics.contentType).send(text);
        },
      };
    },
  });
}
