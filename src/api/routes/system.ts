import type { CoreContext } from '../../core/context.js';
import type { RouteMounter } from '../route.js';

export function systemRoutes(route: RouteMounter, ctx: CoreContext, version: string, startedAt: number): void {
  const uptime = () => Math.floor((Date.now() - startedAt) / 1000);

  route({
    method: 'GET', path: '/health', tag: 'system', summary: 'Liveness and Redis reachability', auth: false,
    responses: { 200: { description: 'Healthy' }, 503: { description: 'Redis is unreachable' } },
    handler: async () => {
      const redisOk = await Promise.race([
        ctx.redis.ping().then(() => true, () => false),
        new Promise<boolean>((r) => setTimeout(r, 1000, false)),
      ]);
      return {
        status: redisOk ? 200 : 503,
        body: { status: redisOk ? 'healthy' : 'unhealthy', version, uptime_seconds: uptime(), checks: { redis: redisOk ? 'ok' : 'unreachable' } },
      };
    },
  });

  route({
    method: 'GET', path: '/v1/metrics', tag: 'system', summary: 'Operation counts and uptime', permission: 'system_metrics',
    responses: { 200: { description: 'Metrics' } },
    handler: async () => {
      const statuses = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
      const pipeline = ctx.redis.pipeline();
      pipeline.zcard(ctx.keys.operationIndex());
      for (const s of statuses) pipeline.zcard(ctx.keys.operationIndex('status', s));
      const counts = ((await pipeline.exec()) ?? []).map(([, n]) => Number(n));
      const byStatus = Object.fromEntries(statuses.map((s, i) => [s, counts[i + 1]]));
      return { status: 200, body: { uptime_seconds: uptime(), tasks: { total: counts[0], running: byStatus.running, by_status: byStatus } } };
    },
  });
}
