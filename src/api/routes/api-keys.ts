import type { ApiKeyRecord, ApiKeyStore } from '../../core/auth/api-keys.js';
import type { Identity } from '../../core/auth/identity.js';
import { EngineError, ErrorCodes, NotFoundError } from '../../common/errors.js';
import type { RouteMounter } from '../route.js';
import { errorRef } from '../schemas/common.js';
import { apiKeyParams, apiKeySchema, createApiKeyBody } from '../schemas/identity.js';

const noStore = { 'Cache-Control': 'no-store' };

/**
 * API keys belong to the engine's own users. A caller authenticated by an external issuer
 * names a user of that issuer, not one of ours, even when the names match.
 */
function localUser(identity: Identity): void {
  if (identity.kind === 'external') throw new EngineError(ErrorCodes.FORBIDDEN, 'API keys belong to users of this engine; a token of an external issuer cannot manage them');
}

/** A key of the caller's own user: anyone else's answers 404, like one that does not exist (admins see all). */
async function ownKey(apiKeys: ApiKeyStore, identity: Identity, id: string): Promise<ApiKeyRecord> {
  localUser(identity);
  const key = await apiKeys.get(id);
  if (!key || (key.user_id !== identity.username && !identity.admin)) throw new NotFoundError(ErrorCodes.API_KEY_NOT_FOUND, `API key ${id} does not exist`);
  return key;
}

const keyAudit = (record: ApiKeyRecord) => ({ resource_type: 'api_key', resource_id: record.id, detail: { owner: record.user_id } });

/** API keys: made by any user for itself, never holding more than it does; the key itself is shown once. */
export function apiKeyRoutes(route: RouteMounter, apiKeys: ApiKeyStore): void {
  route({
    method: 'GET', path: '/v1/api-keys', operationId: 'listApiKeys', tag: 'api-keys', summary: 'Your API keys (never their secrets)', permission: 'api_key_manage',
    description: "Only the caller's own keys (an admin's too), with names, grants and when each was last used.",
    responses: { 200: { description: 'Newest first, revoked ones included', schema: { type: 'array', items: apiKeySchema } } },
    handler: async ({ identity }) => {
      localUser(identity);
      return { status: 200, body: await apiKeys.list(identity.username) };
    },
  });

  route({
    method: 'POST', path: '/v1/api-keys', operationId: 'createApiKey', tag: 'api-keys', summary: 'Create an API key: the key is in this answer only', permission: 'api_key_manage',
    description: 'Send the key as `X-API-Key`. It is in this answer only, and grants at most what its user holds.',
    body: createApiKeyBody,
    responses: { 201: { description: 'The key and its record', schema: apiKeySchema }, 403: { description: 'More than you hold', schema: errorRef } },
    handler: async ({ identity, body }) => {
      localUser(identity);
      const { record, key } = await apiKeys.create(identity, body);
      return { status: 201, body: { ...record, key }, headers: noStore, audit: keyAudit(record) };
    },
  });

  route({
    method: 'DELETE', path: '/v1/api-keys/{id}', operationId: 'revokeApiKey', tag: 'api-keys', summary: 'Revoke an API key: refused at once on every replica', permission: 'api_key_manage',
    description: 'The key is refused from the next request on, on every replica; its record stays, marked revoked.',
    params: apiKeyParams,
    responses: { 200: { description: 'The revoked key', schema: apiKeySchema }, 404: { description: 'No such key', schema: errorRef } },
    handler: async ({ identity, params }) => {
      await ownKey(apiKeys, identity, params.id);
      const record = (await apiKeys.revoke(params.id))!;
      return { status: 200, body: record, audit: keyAudit(record) };
    },
  });

  for (const verb of ['rotate', 'regenerate'] as const) {
    route({
      method: 'POST', path: `/v1/api-keys/{id}/${verb}`, operationId: verb === 'rotate' ? 'rotateApiKey' : 'regenerateApiKey', tag: 'api-keys', permission: 'api_key_manage',
      summary: verb === 'rotate' ? 'Rotate an API key: a new key with the same name and grants; the old one stops working' : 'Regenerate an API key (the same as rotate)',
      description: 'The new key is in this answer only; the old one is refused from the next request on.',
      params: apiKeyParams,
      responses: { 201: { description: 'The new key and its record', schema: apiKeySchema }, 404: { description: 'No such key, or revoked', schema: errorRef } },
      handler: async ({ identity, params }) => {
        await ownKey(apiKeys, identity, params.id);
        const rotated = await apiKeys.rotate(params.id);
        if (!rotated) throw new NotFoundError(ErrorCodes.API_KEY_NOT_FOUND, `API key ${params.id} is revoked or gone`);
        return { status: 201, body: { ...rotated.record, key: rotated.key }, headers: noStore, audit: { ...keyAudit(rotated.record), detail: { owner: rotated.record.user_id, replaces: params.id } } };
      },
    });
  }
}
