import type { JsonSchema } from './validation.js';

export interface DocumentedRoute {
  method: string;
  path: string;
  /**
   * The operation's name in generated clients: lowerCamelCase verb and noun (`createServer`,
   * `getOperation`), unique in the document. Registration refuses a route without one, or
   * with one another route already has.
   */
  operationId?: string;
  summary: string;
  /** More than the summary says: what the call does, what it answers, what to do next. */
  description?: string;
  /** One of TAGS, where its description is. */
  tag: string;
  permission?: string;
  auth: boolean;
  /** Takes an `Idempotency-Key` header. */
  idempotent?: boolean;
  body?: JsonSchema;
  /** The body may be left out entirely (e.g. DELETE): documented as not required. */
  bodyOptional?: boolean;
  params?: JsonSchema;
  query?: JsonSchema;
  responses: Record<number, { description: string; schema?: JsonSchema }>;
}

/**
 * The OpenAPI document, built from the same route declarations and JSON Schemas that
 * validate requests, so the docs cannot drift from the checks.
 */
export class OpenApiRegistry {
  private readonly routes: DocumentedRoute[] = [];
  private readonly operationIds = new Map<string, string>();

  /** Throws when the route cannot be documented well: mounting it fails, so the app does not start. */
  add(route: DocumentedRoute): void {
    const where = `${route.method.toUpperCase()} ${route.path}`;
    if (route.operationId === undefined) throw new Error(`${where}: give the route an operationId (lowerCamelCase, e.g. getServer)`);
    if (!OPERATION_ID.test(route.operationId)) throw new Error(`${where}: operationId '${route.operationId}' must be lowerCamelCase letters and digits`);
    const taken = this.operationIds.get(route.operationId);
    if (taken !== undefined) throw new Error(`${where}: operationId '${route.operationId}' is already ${taken}'s`);
    this.operationIds.set(route.operationId, where);
    this.routes.push(route);
  }

  /**
   * Every tag in use, in TAGS' order. One missing from TAGS is still declared, by name only:
   * the ruleset's tag-description rule (.spectral.yaml) flags it.
   */
  private tags(): Array<{ name: string; description?: string }> {
    const used = new Set(this.routes.map((r) => r.tag));
    const known = Object.keys(TAGS).filter((name) => used.has(name));
    const unknown = [...used].filter((name) => !Object.hasOwn(TAGS, name)).sort();
    return [...known.map((name) => ({ name, description: TAGS[name] })), ...unknown.map((name) => ({ name }))];
  }

  document(version: string): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of this.routes) {
      const parameters = [
        ...paramsOf(r.params, 'path'),
        ...paramsOf(r.query, 'query'),
        ...(r.idempotent ? [IDEMPOTENCY_KEY_PARAMETER] : []),
      ];
      const responses: Record<string, unknown> = {};
      for (const [status, res] of Object.entries(r.responses)) {
        responses[status] = res.schema
          ? { description: res.description, content: { 'application/json': { schema: res.schema } } }
          : { description: res.description };
      }
      if (r.auth) responses['401'] ??= { description: 'Missing, invalid or expired bearer token', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      if (r.idempotent) {
        addErrorResponse(responses, '422', 'The `Idempotency-Key` was already used with a different request body (`IDEMPOTENCY_KEY_REUSED`)');
      }
      if (r.body || r.params || r.query || r.idempotent) responses['400'] ??= { description: 'Invalid request; `details` names each field and its problem', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      const description = [r.description, r.permission ? `Required permission: \`${r.permission}\`` : undefined].filter(Boolean).join('\n\n');
      (paths[r.path] ??= {})[r.method.toLowerCase()] = {
        operationId: r.operationId,
        summary: r.summary,
        ...(description ? { description } : {}),
        tags: [r.tag],
        ...(r.auth ? { security: [{ bearerAuth: [] }] } : { security: [] }),
        ...(parameters.length ? { parameters } : {}),
        ...(r.body ? { requestBody: { required: !r.bodyOptional, content: { 'application/json': { schema: r.body } } } } : {}),
        responses,
      };
    }
    return {
      openapi: '3.1.0',
      info: {
        title: 'provisioning-engine API',
        version,
        description: 'Asynchronous provisioning: every mutating request answers at once with an operation in state `pending`.',
        contact: { name: 'The operators of this deployment' },
      },
      servers: [{ url: '/' }],
      tags: this.tags(),
      paths,
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        schemas: {
          Error: {
            type: 'object',
            required: ['error', 'message', 'code'],
            properties: {
              error: { type: 'string', description: 'Stable error code' },
              message: { type: 'string' },
              code: { type: 'string', description: 'HTTP status as a string' },
              details: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, problem: { type: 'string' } } } },
              trace_id: { type: 'string' },
            },
          },
        },
      },
    };
  }
}

/** What each tag groups; the document declares those in use, with these descriptions. */
export const TAGS: Record<string, string> = {
  servers: 'Servers the engine manages: create, list, resize, power actions, console and delete. Changes answer 202 with an operation.',
  operations: 'The record of every accepted change: poll it, wait for it, watch its events, read its log, cancel it.',
  workflows: 'Multi-step work (clusters, batches, custom graphs of steps), each step an operation of its own.',
  taskservs: 'Task services installed on servers over SSH, and the catalogue of those the engine can install.',
  catalog: "The providers' plans, regions and images, cached, with prices.",
  workspaces: 'Tenants: what each holds, its quotas and its usage.',
  intake: "Pausing and resuming a workspace's or a provider's intake: new operations wait `pending` while it is paused.",
  webhooks: "A workspace's webhook subscriptions: its events POSTed, signed, to URLs of its choosing, retried until they are taken.",
  auth: 'Logging in, refreshing and ending sessions, changing your password, and who a credential belongs to.',
  users: "The engine's own users and their roles, managed by admins.",
  'api-keys': 'API keys for scripts and services: made by a user for itself, never holding more than it does.',
  audit: 'Who changed what, when, from where, and with what outcome.',
  system: 'Health, metrics and an overview of the engine itself.',
  udc: 'The UDC v1.0 droplet endpoints (/capabilities, /state, /dependencies, /version) a mesh of droplets reads, answering errors as {"detail": …}.',
  'multi-cloud': 'The multi-cloud manager contract: per-provider endpoints (/do, /hetzner, /vultr, /upcloud) and /multi, answering errors as {"detail": …}.',
  droplets: 'The droplets API (/api/v1/droplets): droplets on DROPLETS_PROVIDER, made, resized, powered and deleted through engine operations, answering errors as {"detail": …}.',
};

/** lowerCamelCase: a generated client's method name as it is. */
const OPERATION_ID = /^[a-z][a-zA-Z0-9]*$/;

const IDEMPOTENCY_KEY_PARAMETER = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7E]+$' },
  description:
    'Makes retrying this request safe: the same key with the same body answers with the original response ' +
    '(and `Idempotent-Replayed: true`) instead of starting another operation, even when both arrive at once. ' +
    'The same key with a different body answers 422 `IDEMPOTENCY_KEY_REUSED`. Keys belong to the user who sent ' +
    'them and expire after `IDEMPOTENCY_TTL_SECONDS` (24 hours by default). 1 to 255 printable ASCII characters.',
};

/** Documents one more reason for an error status, beside any the route already gives. */
function addErrorResponse(responses: Record<string, unknown>, status: string, description: string): void {
  const existing = responses[status] as { description: string } | undefined;
  responses[status] = existing
    ? { ...existing, description: `${existing.description}; or: ${description}` }
    : { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
}

function paramsOf(schema: JsonSchema | undefined, where: 'path' | 'query'): unknown[] {
  if (!schema) return [];
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => ({ name, in: where, required: where === 'path' || required.has(name), schema: s, ...(s.description ? { description: s.description } : {}) }));
}
