import type { JsonSchema } from './validation.js';

export interface DocumentedRoute {
  method: string;
  path: string;
  summary: string;
  tag: string;
  permission?: string;
  auth: boolean;
  /** Takes an `Idempotency-Key` header. */
  idempotent?: boolean;
  body?: JsonSchema;
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

  add(route: DocumentedRoute): void {
    this.routes.push(route);
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
      (paths[r.path] ??= {})[r.method.toLowerCase()] = {
        summary: r.summary,
        tags: [r.tag],
        ...(r.permission ? { description: `Required permission: \`${r.permission}\`` } : {}),
        ...(r.auth ? { security: [{ bearerAuth: [] }] } : { security: [] }),
        ...(parameters.length ? { parameters } : {}),
        ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: r.body } } } } : {}),
        responses,
      };
    }
    return {
      openapi: '3.1.0',
      info: { title: 'provisioning-engine API', version, description: 'Asynchronous provisioning: every mutating request answers at once with an operation in state `pending`.' },
      servers: [{ url: '/' }],
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
