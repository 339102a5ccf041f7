import type { CoreContext } from '../../core/context.js';
import { EngineError, ErrorCodes, isErrorCode } from '../../common/errors.js';
import type { Operation } from '../../core/operations/model.js';
import { waitForOperation } from '../../core/operations/wait.js';
import type { EventHub } from '../../core/events/hub.js';
import {
  MULTI_CLOUD_WORKSPACE,
  SEED_PROVIDERS,
  actOnServer,
  deleteServer,
  inventoryToSeedResource,
  listAllProviders,
  listProviderServers,
  registerServer,
  type SeedProvider,
} from '../../core/multicloud.js';
import type { Provider, ProviderName } from '../../common/provider.js';
import type { RouteMounter, RouteReply } from '../route.js';
import { operationSchema } from '../schemas/common.js';
import { detailError, multiListAnswer, powerActionBody, providerIdParams, registerBody, seedDeletedAnswer, seedResourceAnswer, seedResourceSchema, waitQuery } from '../schemas/multi-cloud.js';

const WAIT_MS = 120000;

/**
 * With `?wait=true` a mutation answers like the provider would once its operation is done;
 * without, or when it takes longer than WAIT_MS, it answers 202 with the operation.
 */
async function answer(ctx: CoreContext, hub: EventHub, op: Operation, wait: boolean, done: (finished: Operation) => Promise<RouteReply>): Promise<RouteReply> {
  if (!wait) return { status: 202, body: op, headers: { Location: `/v1/operations/${op.id}` } };
  const finished = await waitForOperation(ctx, hub, op.id, WAIT_MS);
  if (!finished || finished.status === 'pending' || finished.status === 'running') return { status: 202, body: finished ?? op, headers: { Location: `/v1/operations/${op.id}` } };
  if (finished.status === 'failed') {
    const code = finished.error?.code;
    throw new EngineError(isErrorCode(code) ? code : ErrorCodes.INTERNAL, finished.error?.message ?? 'the operation failed');
  }
  if (finished.status === 'cancelled') throw new EngineError(ErrorCodes.CONFLICT, `operation ${op.id} was cancelled`);
  return done(finished);
}

/** `do` + `List` → `doList`: an operationId from a path prefix, whatever characters it has. */
export function prefixedOperationId(prefix: string, name: string): string {
  const words = `${prefix} ${name}`.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const id = words.map((w, i) => (i === 0 ? w.charAt(0).toLowerCase() : w.charAt(0).toUpperCase()) + w.slice(1)).join('');
  return /^[a-z]/.test(id) ? id : `p${id}`;
}

function providerRoutes(route: RouteMounter, ctx: CoreContext, providers: Map<ProviderName, Provider>, hub: EventHub, prefix: string, seed: SeedProvider): void {
  const tag = 'multi-cloud';
  const operationId = (name: string) => prefixedOperationId(prefix, name);
  const errors = { 401: { description: 'Could not validate credentials', schema: detailError }, 503: { description: 'Provider not configured', schema: detailError } };
  const resourceAnswer = async (finished: Operation): Promise<RouteReply> => {
    const server = await ctx.inventory.get(String(finished.result?.server_id));
    return { status: 200, body: { [seed.resource]: server ? inventoryToSeedResource(server) : null, operation_id: finished.id } };
  };

  route({
    method: 'GET', path: `/${prefix}/list`, operationId: operationId('List'), tag, summary: `List every ${seed.provider} server (asked of the provider now)`, permission: 'server_read',
    description: `Every server in the ${seed.provider} account, whether the engine made it or not, as the multi-cloud contract shapes it.`,
    responses: { 200: { description: `{provider, count, ${seed.collection}}`, schema: { type: 'object', properties: { provider: { type: 'string' }, count: { type: 'integer' }, [seed.collection]: { type: 'array', items: seedResourceSchema } } } }, ...errors },
    handler: async ({ access }) => {
      access.requireIn('server_read', MULTI_CLOUD_WORKSPACE);
      return { status: 200, body: await listProviderServers(providers, seed) };
    },
  });

  route({
    method: 'POST', path: `/${prefix}/register`, operationId: operationId('Register'), tag, summary: `Create a ${seed.provider} server through the engine`, permission: 'server_create',
    description: 'Answers 202 with the `server.create` operation at once; with `?wait=true`, 201 with the server once it runs (or 202 if that takes longer than two minutes).',
    body: registerBody, query: waitQuery,
    responses: { 201: { description: `With ?wait=true: {${seed.resource}, operation_id}`, schema: seedResourceAnswer(seed.resource) }, 202: { description: 'The operation', schema: operationSchema }, ...errors },
    handler: async ({ body, query, actor }) => {
      const op = await registerServer(ctx, providers, seed, body, actor);
      return answer(ctx, hub, op, query.wait, async (finished) => ({ ...(await resourceAnswer(finished)), status: 201 }));
    },
  });

  route({
    method: 'POST', path: `/${prefix}/action/{id}`, operationId: operationId('Action'), tag, summary: `Reboot, power off or power on a ${seed.provider} server`, permission: 'server_action',
    description: `The server by its ${seed.provider} id; one the engine does not manage yet is adopted first. Answers 202 with the \`server.action\` operation; with \`?wait=true\`, 200 with the server once it is done.`,
    params: providerIdParams, body: powerActionBody, query: waitQuery,
    responses: { 200: { description: `With ?wait=true: {${seed.resource}, operation_id}`, schema: seedResourceAnswer(seed.resource) }, 202: { description: 'The operation', schema: operationSchema }, 404: { description: 'No such server', schema: detailError }, ...errors },
    handler: async ({ params, body, query, actor }) => {
      const op = await actOnServer(ctx, providers, seed, params.id, body.action, actor);
      return answer(ctx, hub, op, query.wait, resourceAnswer);
    },
  });

  route({
    method: 'DELETE', path: `/${prefix}/delete/{id}`, operationId: operationId('Delete'), tag, summary: `Delete a ${seed.provider} server`, permission: 'server_delete',
    description: `The server by its ${seed.provider} id; one the engine does not manage yet is adopted first. Answers 202 with the \`server.delete\` operation; with \`?wait=true\`, 200 once it is gone.`,
    params: providerIdParams, query: waitQuery,
    responses: { 200: { description: `With ?wait=true: {status: "deleted", ${seed.idField}}`, schema: seedDeletedAnswer(seed.idField) }, 202: { description: 'The operation', schema: operationSchema }, 404: { description: 'No such server', schema: detailError }, ...errors },
    handler: async ({ params, query, actor }) => {
      const op = await deleteServer(ctx, providers, seed, params.id, actor);
      return answer(ctx, hub, op, query.wait, async () => ({ status: 200, body: { status: 'deleted', [seed.idField]: params.id } }));
    },
  });
}

export function multiCloudRoutes(route: RouteMounter, ctx: CoreContext, providers: Map<ProviderName, Provider>, hub: EventHub): void {
  for (const [prefix, seed] of Object.entries(SEED_PROVIDERS)) providerRoutes(route, ctx, providers, hub, prefix, seed);

  route({
    method: 'GET', path: '/multi/list', operationId: 'multiList', tag: 'multi-cloud', summary: 'Servers of every configured provider, asked in parallel', permission: 'server_read',
    description: 'Each configured provider is asked now, all at once (each for at most 30 seconds); one that fails is named under `errors` with its message.',
    responses: { 200: { description: 'One list per provider (do, hetzner, vultr, upcloud); a provider that failed is in `errors` instead', schema: multiListAnswer(Object.keys(SEED_PROVIDERS)) } },
    handler: async ({ access }) => {
      access.requireIn('server_read', MULTI_CLOUD_WORKSPACE);
      return { status: 200, body: await listAllProviders(providers) };
    },
  });
}
