/**
 * The droplet's mesh endpoints (udc-droplet-response-standards.md, multi-cloud-manager-api.md),
 * answering errors as `{"detail": …}`:
 *
 * - `GET /.well-known/jwks.json` (public): the droplet's public signing keys.
 * - `POST /message`: a message from another droplet. Dual authentication: the bearer token
 *   (or API key) as on every route, AND the body's `signature` by the sender (see
 *   core/udc/message-signature.ts). The same (source, trace_id) delivered again — a peer's
 *   outbox retrying — is answered as the first time and acts once.
 * - `GET /proof`: the last completed action, signed by the droplet.
 */
import { createHash } from 'node:crypto';
import express from 'express';
import { catalogFor, type CoreContext } from '../../core/context.js';
import { EngineError, ErrorCodes, NotFoundError, ValidationError } from '../../common/errors.js';
import { IdempotencyKeyAnsweredError, IdempotencyKeyReusedError, IdempotencyStore, REPLAYED_HEADER, type IdempotencyBinding, type IdempotencyScope } from '../../core/idempotency.js';
import type { Operation } from '../../core/operations/model.js';
import { operationData, recordMessage, runMessageAction } from '../../core/udc/message-actions.js';
import { MessageSignatureError, MessageSignatureVerifier, SIGNATURE_REQUIRED } from '../../core/udc/message-signature.js';
import { latestProof, signerFor } from '../../core/udc/proof.js';
import { canonicalJson, type UdcMessage } from '../../core/udc/signing.js';
import type { Provider, ProviderName } from '../../common/provider.js';
import { detailError as detail, detailRouter } from '../detail-router.js';
import type { OpenApiRegistry } from '../openapi.js';
import { routeMounter, type RouteDeps, type RouteInput, type RouteReply } from '../route.js';
import { ACTION_PAYLOADS, ACTIONS_BY_TYPE, jwksSchema, messageBody, messageReplySchema, proofSchema } from '../schemas/udc-messages.js';
import { compile, toProblems, type JsonSchema } from '../validation.js';

// Case-insensitive and with an optional trailing slash, as the router matches routes.
const MESH_PATH = /^\/(\.well-known\/jwks\.json|message|proof)\/?$/i;


export interface UdcMessagesRouterDeps {
  ctx: CoreContext;
  version: string;
  registry: OpenApiRegistry;
  guards: express.RequestHandler[];
  /** Adapters the create command's catalogue check reads with, as `/v1/servers/create` does. */
  providers: Map<ProviderName, Provider>;
  mount: RouteDeps;
}

export function udcMessagesRouter(deps: UdcMessagesRouterDeps): express.Router {
  return detailRouter(MESH_PATH, deps.guards, deps.ctx.logger, (router) => fillRouter(router, deps));
}

/** Each action's payload check, compiled once. */
const payloadChecks = Object.fromEntries(
  Object.entries(ACTION_PAYLOADS).map(([name, schema]) => [name, compile({ type: 'object', required: ['payload'], properties: { payload: schema } }, 'body')]),
);

/** A query or command must name an action its type allows, with that action's fields. */
function checkPayload(message: UdcMessage): void {
  const allowed = ACTIONS_BY_TYPE[message.message_type];
  if (!allowed) return;
  const name = message.payload.action;
  if (typeof name !== 'string' || !allowed.includes(name)) {
    const problem = name === undefined ? 'is required' : `must be one of: ${allowed.join(', ')}`;
    throw new ValidationError([{ field: 'payload.action', problem }]);
  }
  const validate = payloadChecks[name]!;
  const wrapped = { payload: message.payload };
  if (!validate(wrapped)) throw new ValidationError(toProblems(validate.errors, 'body'));
}

/** Problems a service found in the payload's fields are named where the sender put them. */
function underPayload(err: ValidationError): ValidationError {
  return new ValidationError(err.problems.map((p) => ({ ...p, field: p.field.startsWith('payload.') ? p.field : `payload.${p.field}` })));
}

function fillRouter(router: express.Router, deps: UdcMessagesRouterDeps): void {
  const { ctx, version } = deps;
  const route = routeMounter(router, deps.registry, deps.mount);
  const tag = 'udc';
  const verifier = new MessageSignatureVerifier(ctx.config);
  const answers = new IdempotencyStore(ctx.redis, ctx.keys, ctx.config.idempotencyTtlSeconds, ctx.logger);
  const catalogue = catalogFor(ctx, deps.providers);
  const droplet = ctx.config.droplet;

  route({
    method: 'GET', path: '/.well-known/jwks.json', operationId: 'getJwks', tag, summary: "This droplet's public signing keys", auth: false,
    description: 'The RSA keys (JWK set) peers verify this droplet\'s message signatures, proofs and self-signed bearer tokens with. Needs no token.',
    responses: { 200: { description: 'The key set', schema: jwksSchema } },
    handler: async () => ({ status: 200, body: (await signerFor(ctx)).jwks() }),
  });

  route({
    method: 'GET', path: '/proof', operationId: 'getProof', tag, summary: 'The last completed action, signed by this droplet',
    description: "The engine's most recently completed operation as `{action, timestamp, trace_id, droplet_id, operation_id, signature}`, where `signature` is a compact RS256 JWS by this droplet whose claims repeat those fields; verify it with `/.well-known/jwks.json`. `/health`'s `proof` is the SHA-256 of this answer.",
    responses: {
      200: { description: 'The proof', schema: proofSchema },
      401: { description: 'Could not validate credentials', schema: detail },
      404: { description: 'No operation has completed yet', schema: detail },
    },
    handler: async () => {
      const proof = await latestProof(ctx);
      if (proof === null) throw new NotFoundError(ErrorCodes.NOT_FOUND, 'No completed action to prove yet');
      return { status: 200, body: proof };
    },
  });

  const reply = (message: UdcMessage, result: 'success' | 'error', data: Record<string, unknown>) => ({
    received: true,
    trace_id: message.trace_id,
    processed_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    result,
    response: 'acknowledged',
    data,
  });

  /** Carries the message out; a refusal by the engine (not found, not allowed, …) is an answer too. */
  const act = async (input: RouteInput, message: UdcMessage, binding: IdempotencyBinding | undefined): Promise<RouteReply> => {
    if (message.message_type === 'event' || message.message_type === 'response') {
      await recordMessage(ctx, message, new Date().toISOString());
      return { status: 200, body: reply(message, 'success', { status: 'processed' }) };
    }
    // The operation a command makes carries the message's trace id, so the sender can follow it.
    const actor = { ...input.actor, traceId: message.trace_id, idempotency: binding };
    try {
      const data = await runMessageAction({ ctx, version, catalogue }, message, actor);
      return { status: 200, body: reply(message, 'success', { ...data, status: 'processed' }) };
    } catch (err) {
      if (err instanceof ValidationError) throw underPayload(err);
      // A 5xx (a provider not configured, Redis trouble) may pass on a retry: it is not an answer to keep.
      if (err instanceof EngineError && err.httpStatus < 500 && !(err instanceof IdempotencyKeyReusedError)) {
        ctx.logger.info('mesh message refused', { trace_id: message.trace_id, source: String(message.source), code: err.code });
        return { status: 200, body: reply(message, 'error', { status: 'failed', error: { code: err.code, message: err.message } }) };
      }
      throw err;
    }
  };

  const replayOf = (message: UdcMessage, op: Operation): RouteReply => ({
    status: 200,
    headers: { [REPLAYED_HEADER]: 'true' },
    body: reply(message, 'success', { ...operationData(op), status: 'processed' }),
  });

  route({
    method: 'POST', path: '/message', operationId: 'receiveMessage', tag, summary: 'Receive a message from another droplet',
    description: [
      'UDC dual authentication: a bearer token (or API key) holding `mesh_message`, AND `signature`, the sender\'s compact RS256 JWS over the message, verified with the JWKS of the peer `source` names (MESH_PEERS) or else the mesh registry\'s (JWKS_URL): `aud` this droplet\'s id, unexpired, `sub` the sender, `jti` the trace_id, `digest` the SHA-256 of the message as received.',
      'A `query` reads (`status`, `get_operation`, `list_resources`); a `command` acts with the caller\'s access (`list_resources`, `create_server`, `delete_server`, `power_action`: the operation it submits carries the message\'s trace_id); an `event` or `response` is recorded.',
      'The same trace_id from the same source is answered as the first time (`Idempotent-Replayed: true`) and acts once; the same trace_id with another message is a 422.',
    ].join('\n\n'),
    permission: 'mesh_message', body: messageBody,
    responses: {
      200: { description: 'Received; `result` says whether the action succeeded', schema: messageReplySchema },
      401: { description: 'Could not validate credentials, or the message signature is missing (`Message signature required`) or not valid (the detail says why)', schema: detail },
      403: { description: 'Not enough permissions', schema: detail },
      422: { description: 'A field is missing or wrong: `detail` lists each as {type, loc, msg}', schema: detail },
      503: { description: 'The provider a command needs is not configured here; nothing was kept, so the same message may be sent again', schema: detail },
    },
    handler: async (input) => {
      const message = input.body as UdcMessage;
      const target = String(message.target);
      if (target !== String(droplet.id) && target !== droplet.name) {
        throw new ValidationError([{ field: 'target', problem: `must name this droplet (id ${droplet.id} or name '${droplet.name}')` }]);
      }
      if (message.signature === undefined) throw new MessageSignatureError(SIGNATURE_REQUIRED);
      await verifier.verify(message);
      checkPayload(message);

      // The first answer to (source, trace_id) is kept and given again; a create it made is bound
      // to it in the same write as the operation, so even two deliveries at once make one.
      const scope: IdempotencyScope = { username: `mesh:${String(message.source)}`, method: 'POST', path: '/message', key: message.trace_id };
      const { signature: _signature, timestamp: _timestamp, ...what } = message;
      const fingerprint = createHash('sha256').update(canonicalJson(what)).digest('hex');
      let state;
      try {
        state = await answers.state(scope, fingerprint);
      } catch (err) {
        if (err instanceof IdempotencyKeyReusedError) throw new ValidationError([{ field: 'trace_id', problem: 'was already used by this source for a different message' }]);
        throw err;
      }
      if (state.kind === 'replay') return { status: state.reply.status, headers: { ...state.reply.headers, [REPLAYED_HEADER]: 'true' }, body: JSON.parse(state.reply.body) as unknown };
      if (state.kind === 'bound') {
        const op = await ctx.store.get(state.operationId);
        if (op) return replayOf(message, op);
      }
      const binding = state.kind === 'free' ? state.binding : undefined;
      let answer: RouteReply;
      try {
        answer = await act(input, message, binding);
      } catch (err) {
        if (err instanceof IdempotencyKeyAnsweredError && binding) {
          const again = await answers.state(scope, binding.fingerprint);
          if (again.kind === 'replay') return { status: again.reply.status, headers: { [REPLAYED_HEADER]: 'true' }, body: JSON.parse(again.reply.body) as unknown };
        }
        throw err;
      }
      if ('stream' in answer) return answer;
      // The audit log names the message and what it made, never its payload (a create's user_data is a secret).
      const made = (answer.body as { data?: { operation_id?: unknown } }).data?.operation_id;
      const audited: RouteReply = {
        ...answer,
        audit: { resource_type: 'mesh_message', resource_id: message.trace_id, detail: { source: String(message.source), message_type: message.message_type, action: message.payload.action, ...(typeof made === 'string' ? { operation_id: made } : {}) } },
      };
      if (!binding) return audited;
      const kept = await answers.keep(scope, binding, { status: answer.status, headers: {}, body: JSON.stringify(answer.body) });
      if (kept.kind === 'replay') return { status: kept.reply.status, headers: { [REPLAYED_HEADER]: 'true' }, body: JSON.parse(kept.reply.body) as unknown };
      return audited;
    },
  });
}
