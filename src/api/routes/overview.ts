import type { CoreContext } from '../../core/context.js';
import { readOverview } from '../../core/overview.js';
import type { RouteMounter } from '../route.js';

const count = { type: 'integer', minimum: 0 };

const overviewSchema = {
  type: 'object',
  required: ['generated_at', 'workspaces', 'counts', 'throughput', 'queues', 'rate_budgets', 'workers'],
  properties: {
    generated_at: { type: 'string', format: 'date-time' },
    workspaces: { type: ['array', 'null'], items: { type: 'string' }, description: 'The workspaces counted; null: every workspace' },
    counts: {
      type: 'object',
      properties: { total: count, pending: count, running: count, completed: count, failed: count, cancelled: count },
    },
    throughput: {
      type: 'object',
      properties: {
        minutes: {
          type: 'array',
          description: 'The last 60 minutes, oldest first: operations that finished in each, by final state',
          items: { type: 'object', properties: { minute: { type: 'string', format: 'date-time' }, completed: count, failed: count, cancelled: count } },
        },
        finished: count,
        completed: count,
        failed: count,
        cancelled: count,
        failure_rate: { type: ['number', 'null'], description: 'failed ÷ finished over the hour; null when nothing finished' },
      },
    },
    queues: {
      type: ['array', 'null'],
      description: 'Jobs per queue (one per configured provider, and workflows); null without `system_metrics`',
      items: { type: 'object', properties: { queue: { type: 'string' }, provider: { type: ['string', 'null'] }, waiting: count, active: count, delayed: count, failed: count } },
    },
    rate_budgets: {
      type: ['array', 'null'],
      description: "Each provider account's shared request budget; null without `system_metrics`",
      items: { type: 'object' },
    },
    workers: {
      type: ['array', 'null'],
      description: 'Live worker processes by their heartbeats; null without `system_metrics`',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' }, pid: { type: 'integer' }, host: { type: 'string' }, started_at: { type: 'string' }, last_seen: { type: 'string' },
          queues: { type: 'array', items: { type: 'string' } }, active_jobs: count,
        },
      },
    },
  },
};

export function overviewRoutes(route: RouteMounter, ctx: CoreContext): void {
  route({
    method: 'GET', path: '/v1/overview', tag: 'system', operationId: 'getOverview',
    summary: "What the engine is doing: operation counts, the last hour's throughput, queues, rate budgets, workers",
    description:
      "Counts by state and the operations finished per minute over the last hour (by final state, with the failure rate) cover the caller's own workspaces. " +
      'Queue depth per provider, each provider account\'s rate budget and the live workers\' heartbeats are about the whole system: they are answered to callers holding `system_metrics` and are null for everyone else.',
    permission: 'operation_read',
    responses: { 200: { description: 'The overview', schema: overviewSchema } },
    handler: async ({ access }) => ({ status: 200, body: await readOverview(ctx, access) }),
  });
}
