import { pingRedis } from '../../core/redis.js';
import { operationsPerStatus } from '../../core/operations/counts.js';
import type { CoreContext } from '../../core/context.js';
import { healthIdentity } from '../../core/udc/identity.js';
import { latestProof, proofHash } from '../../core/udc/proof.js';
import type { JsonSchema, RouteMounter } from '../route.js';
import { healthSchema, metricsSchema } from '../schemas/system.js';

/** `/health`'s schema with the UDC droplet fields added. */
const udcHealthSchema: JsonSchema = {
  ...healthSchema,
  required: [...(healthSchema.required as string[]), 'id', 'name', 'steward', 'endpoint', 'updated_at', 'dependencies'],
  properties: {
    ...(healthSchema.properties as Record<string, JsonSchema>),
    id: { type: 'integer', description: 'The droplet id in the mesh (DROPLET_ID)' },
    name: { type: 'string', description: 'DROPLET_NAME' },
    steward: { type: 'string', description: 'DROPLET_STEWARD' },
    endpoint: { type: 'string', description: 'DROPLET_ENDPOINT' },
    updated_at: { type: 'string', format: 'date-time', description: 'When this answer was taken' },
    dependencies: { type: 'array', items: { type: 'string' }, description: 'What the droplet depends on (see /dependencies)' },
    proof: { type: ['string', 'null'], description: 'SHA-256 (hex) of `GET /proof`: the last completed action, signed; null before any' },
  },
};

export function systemRoutes(route: RouteMounter, ctx: CoreContext, version: string, startedAt: number): void {
  const uptime = () => Math.floor((Date.now() - startedAt) / 1000);

  route({
    method: 'GET', path: '/health', operationId: 'getHealth', tag: 'system', summary: 'Liveness and Redis reachability', auth: false,
    description: "Answers 200 while this API process reaches Redis within a second, 503 otherwise. Needs no token: for load balancers and liveness probes. Also carries the UDC v1.0 droplet fields (`id`, `name`, `steward`, `endpoint`, `updated_at`, `version`, `dependencies`); `status` keeps this endpoint's own `healthy`/`unhealthy`.",
    responses: { 200: { description: 'Healthy', schema: udcHealthSchema }, 503: { description: 'Redis is unreachable', schema: udcHealthSchema } },
    handler: async () => {
      const redisOk = (await pingRedis(ctx.redis, 1000)).ok;
      // Only asked of a Redis that just answered; a proof that cannot be read now is no proof.
      const proof = redisOk ? await latestProof(ctx).then(proofHash, () => null) : null;
      return {
        status: redisOk ? 200 : 503,
        body: {
          ...healthIdentity(ctx.config, version),
          status: redisOk ? 'healthy' : 'unhealthy',
          version,
          uptime_seconds: uptime(),
          checks: { redis: redisOk ? 'ok' : 'unreachable' },
          updated_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
          proof,
        },
      };
    },
  });

  route({
    method: 'GET', path: '/v1/metrics', operationId: 'getMetrics', tag: 'system', summary: 'Operation counts and uptime', permission: 'system_metrics',
    description: 'How many operations the engine holds, in total and by status, and how long this API process has been up.',
    responses: { 200: { description: 'Metrics', schema: metricsSchema } },
    handler: async () => {
      const byStatus = await operationsPerStatus(ctx.redis, ctx.keys);
      const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
      return { status: 200, body: { uptime_seconds: uptime(), tasks: { total, running: byStatus.running, by_status: byStatus } } };
    },
  });
}
