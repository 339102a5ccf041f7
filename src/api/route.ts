import type { Request, Response, Router, NextFunction } from 'express';
import type { AuthenticatedUser } from '../core/auth/users.js';
import type { Permission } from '../core/auth/permissions.js';
import { roleHas } from '../core/auth/permissions.js';
import { ForbiddenError, UnauthorizedError, ValidationError } from '../core/errors.js';
import type { TokenService } from '../core/auth/tokens.js';
import type { DocumentedRoute, OpenApiRegistry } from './openapi.js';
import { compile, toProblems, type JsonSchema, type RequestPart } from './validation.js';
import type { Actor } from '../core/operations/submit.js';
import { idempotentByDefault, runIdempotently, type IdempotencyDeps } from './idempotent.js';

export interface RouteInput<B = any, Q = any, P = any> {
  body: B;
  query: Q;
  params: P;
  user: AuthenticatedUser;
  traceId: string;
  /** Path and query of this request, for building `next` links. */
  path: string;
  headers: Request['headers'];
  /** Who asks, for the services: user, trace and the request's Idempotency-Key binding. */
  actor: Actor;
}

export type RouteReply =
  | { status: number; body: unknown; headers?: Record<string, string> }
  /** The route writes the response itself (server-sent events). */
  | { stream: (req: Request, res: Response) => Promise<void> };

export interface RouteSpec extends Omit<DocumentedRoute, 'auth' | 'idempotent'> {
  /** Routes need a bearer token unless they say otherwise. */
  auth?: boolean;
  /** Honour `Idempotency-Key`; authenticated mutating `/v1` routes (not `/v1/auth/*`) do unless they say otherwise. */
  idempotent?: boolean;
  permission?: Permission;
  /** A body may be omitted entirely (e.g. DELETE); when sent, it is validated. */
  bodyOptional?: boolean;
  handler: (input: RouteInput) => Promise<RouteReply>;
}

export interface RouteMounter {
  (spec: RouteSpec): void;
}

function bearer(req: Request): string {
  const header = req.headers.authorization;
  if (!header) throw new UnauthorizedError('the Authorization header is missing; send "Bearer <token>"');
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new UnauthorizedError('the Authorization header must be "Bearer <token>"');
  return match[1]!;
}

/**
 * Declares a route: its schemas, permission and one handler. The same declaration
 * validates requests and documents the route in OpenAPI.
 */
export function routeMounter(router: Router, registry: OpenApiRegistry, tokens: TokenService, idempotency?: IdempotencyDeps): RouteMounter {
  return (spec) => {
    const auth = spec.auth ?? true;
    // Keys are scoped per user, so only authenticated routes of a router with a store take them.
    const idempotent = spec.idempotent ?? (auth && idempotency !== undefined && idempotentByDefault(spec.method, spec.path));
    if (idempotent && (!idempotency || !auth)) throw new Error(`${spec.method} ${spec.path}: idempotent routes need an authenticated router with an idempotency store`);
    registry.add({ ...spec, auth, idempotent });
    const checks: Array<[RequestPart, ReturnType<typeof compile>]> = [];
    if (spec.params) checks.push(['path', compile(spec.params, 'path')]);
    if (spec.query) checks.push(['query', compile(spec.query, 'query')]);
    if (spec.body) checks.push(['body', compile(spec.body, 'body')]);
    const expressPath = spec.path.replace(/\{(\w+)\}/g, ':$1');

    const handle = async (req: Request, res: Response, _next: NextFunction) => {
      const user = auth ? tokens.verify(bearer(req), 'access') : { username: 'anonymous', role: 'viewer' as const };
      if (spec.permission && !roleHas(user.role, spec.permission)) throw new ForbiddenError(spec.permission);
      // Express 5 exposes req.query as a getter; validate a copy we own.
      const parts: Record<RequestPart, unknown> = {
        path: { ...req.params },
        query: { ...(req.query as object) },
        body: req.body === undefined && spec.bodyOptional ? {} : req.body,
      };
      const traceId = res.locals.traceId as string;
      const run = async (binding?: Actor['idempotency']): Promise<RouteReply> => {
        const problems = checks.flatMap(([part, validate]) => (validate(parts[part]) ? [] : toProblems(validate.errors, part)));
        if (problems.length) throw new ValidationError(problems);
        return spec.handler({
          body: parts.body,
          query: parts.query,
          params: parts.path,
          user,
          traceId,
          path: req.originalUrl,
          headers: req.headers,
          actor: { username: user.username, traceId, idempotency: binding },
        });
      };
      // Validation runs under the key too, so a 400 is replayed like any other answer; the
      // fingerprint is taken before validation fills in defaults.
      const reply = idempotent ? await runIdempotently(idempotency!, req, user.username, traceId, parts, run) : await run();
      if ('stream' in reply) return reply.stream(req, res);
      if (reply.headers) res.set(reply.headers);
      res.status(reply.status).json(reply.body);
    };
    router[spec.method.toLowerCase() as 'get' | 'post' | 'delete' | 'patch' | 'put'](expressPath, handle);
  };
}

export type { JsonSchema };
