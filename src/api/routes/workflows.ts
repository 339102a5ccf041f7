import type { Catalog } from '../../core/catalog.js';
import type { CoreContext } from '../../core/context.js';
import { cancelWorkflow, getWorkflow, listWorkflows, submitWorkflow } from '../../core/workflows/service.js';
import { acceptedReply } from '../accepted.js';
import type { RouteMounter } from '../route.js';
import { errorRef, operationSchema, pageHeaders } from '../schemas/common.js';
import { listWorkflowsQuery, submitWorkflowBody, workflowIdParams, workflowSchema } from '../schemas/workflows.js';

export function workflowRoutes(route: RouteMounter, ctx: CoreContext, catalog: Catalog): void {
  route({
    method: 'POST', path: '/v1/workflows/submit', operationId: 'submitWorkflow', tag: 'workflows', summary: 'Submit a workflow (cluster_create, cluster_delete, server_batch_create, or a custom graph of steps)',
    description: "The whole workflow is checked before anything starts. Answers 202 with the workflow's operation at once; each step runs as an operation of its own. Poll `GET /v1/workflows/{id}` for the steps.",
    permission: 'workflow_submit', body: submitWorkflowBody,
    responses: { 202: { description: 'Accepted: the workflow operation, pending', schema: operationSchema }, 400: { description: 'Bad input; the field is named and nothing was started', schema: errorRef }, 503: { description: 'A provider it needs is not configured', schema: errorRef } },
    handler: async ({ body, actor }) => {
      const op = await submitWorkflow(ctx, body, actor, catalog);
      return acceptedReply(op, ctx.config);
    },
  });

  route({
    method: 'GET', path: '/v1/workflows', operationId: 'listWorkflows', tag: 'workflows', summary: 'List workflows, newest first, with filters',
    description: 'Workflow operations only; pages follow the `Link` header (rel="next"). As with operations, a page may hold fewer than `limit` items, even none, and still have a next one.',
    permission: 'workflow_read', query: listWorkflowsQuery,
    responses: { 200: { description: 'One page; the next is in the `Link` header (rel="next") and `X-Next-Cursor`', schema: { type: 'array', items: operationSchema } } },
    handler: async ({ query, path, access }) => {
      const { limit, cursor, ...filters } = query;
      const page = await listWorkflows(ctx, access, filters, limit, cursor ?? null);
      return { status: 200, body: page.items, headers: pageHeaders(path, page.next) };
    },
  });

  route({
    method: 'GET', path: '/v1/workflows/{id}', operationId: 'getWorkflow', tag: 'workflows', summary: 'A workflow with every step as its own operation stands',
    description: "The workflow's operation and each of its steps' operations.",
    permission: 'workflow_read', params: workflowIdParams,
    responses: { 200: { description: 'The workflow', schema: workflowSchema }, 404: { description: 'No such workflow', schema: errorRef } },
    handler: async ({ params, access }) => ({ status: 200, body: await getWorkflow(ctx, params.id, access) }),
  });

  route({
    method: 'POST', path: '/v1/workflows/{id}/cancel', operationId: 'cancelWorkflow', tag: 'workflows', summary: 'Cancel a workflow: its pending and running steps, then the rollback if asked',
    description: 'Steps not yet started are cancelled at once, running ones are asked to stop; with rollback, what the workflow made is then removed.',
    permission: 'workflow_cancel', params: workflowIdParams,
    responses: {
      200: { description: 'Cancelled (it had not started)', schema: operationSchema },
      202: { description: 'Running: cancellation requested; its steps are being cancelled and it ends `cancelled`', schema: operationSchema },
      404: { description: 'No such workflow', schema: errorRef },
      409: { description: 'Already finished', schema: errorRef },
    },
    handler: async ({ params, access, actor }) => {
      const outcome = await cancelWorkflow(ctx, params.id, access, actor.username);
      return { status: outcome.cancelled ? 200 : 202, body: outcome.operation };
    },
  });
}
