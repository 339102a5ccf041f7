import type { CoreContext } from '../../core/context.js';
import { Probes } from '../../core/probes.js';
import type { RouteMounter } from '../route.js';
import type { JsonSchema } from '../validation.js';

const checkState: JsonSchema = { type: 'string', enum: ['CONNECTED', 'DISCONNECTED'] };

const livenessSchema: JsonSchema = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', enum: ['ok'] } },
};

const readinessSchema: JsonSchema = {
  type: 'object',
  required: ['status', 'checks', 'failing', 'details', 'time'],
  properties: {
    status: { type: 'string', enum: ['UP', 'DEGRADED'] },
    checks: {
      type: 'object',
      description: '`redis`, `workers` and each configured provider by name (`digitalocean`, `hetzner`, `vultr`, `upcloud`)',
      additionalProperties: checkState,
      example: { redis: 'CONNECTED', workers: 'CONNECTED', digitalocean: 'CONNECTED' },
    },
    failing: { type: 'array', items: { type: 'string' }, description: 'The names in `checks` that are not CONNECTED' },
    details: {
      type: 'object',
      properties: {
        redis: { type: 'object', properties: { status: checkState, latency_ms: { type: 'integer' }, error: { type: 'string' } } },
        workers: { type: 'object', properties: { status: checkState, alive: { type: 'integer', description: 'Worker processes with a live heartbeat' }, error: { type: 'string' } } },
        providers: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            properties: {
              status: checkState,
              http_status: { type: 'integer', description: "What the provider's API base URL answered (any answer below 500 counts as reachable)" },
              latency_ms: { type: 'integer' },
              error: { type: 'string' },
              checked_at: { type: 'string', format: 'date-time' },
              cached: { type: 'boolean', description: 'Taken from the last look (looks are cached about 12 s)' },
              skipped: { type: 'string', description: "Why no look was taken now (the account's request budget said wait)" },
            },
          },
        },
      },
    },
    time: { type: 'string', format: 'date-time' },
  },
};

export function probeRoutes(route: RouteMounter, ctx: CoreContext): void {
  const probes = new Probes(ctx);

  route({
    method: 'GET', path: '/health/live', operationId: 'getLiveness', tag: 'system', summary: 'Liveness probe', auth: false,
    description: 'Answers 200 `{"status": "ok"}` whenever this API process serves requests; it checks nothing else, so an orchestrator restarts the process only when it stops answering. Needs no token.',
    responses: { 200: { description: 'The process is serving', schema: livenessSchema } },
    handler: async () => ({ status: 200, body: probes.live() }),
  });

  route({
    method: 'GET', path: '/health/ready', operationId: 'getReadiness', tag: 'system', summary: 'Readiness probe', auth: false,
    description:
      'Answers 200 `UP` when Redis answers PING within a second, at least one worker process has a live heartbeat and every configured provider\'s API answers at its base URL; '
      + 'otherwise 503 `DEGRADED`, with the failing checks `DISCONNECTED` in `checks` and named in `failing`. '
      + 'Provider looks are unauthenticated GETs cached for about 12 s per API process, so probing often costs the providers nothing more. Needs no token.',
    responses: {
      200: { description: 'Every check passed', schema: readinessSchema },
      503: { description: 'At least one check failed (named in `failing`)', schema: readinessSchema },
    },
    handler: async () => {
      const report = await probes.ready();
      return { status: report.status === 'UP' ? 200 : 503, body: report };
    },
  });
}
