import type { Request, Response, Router, NextFunction } from 'express';
import { Access } from '../core/auth/access.js';
import type { Authenticator } from '../core/auth/authenticate.js';
import { principalId, principalLabel, type Identity } from '../core/auth/identity.js';
import type { Permission } from '../core/auth/permissions.js';
import { EngineError, ForbiddenError, ValidationError } from '../core/errors.js';
import { auditRequest, type AuditDeps, type AuditNote } from './audit.js';
import type { DocumentedRoute, OpenApiRegistry } from './openapi.js';
import { compile, toProblems, type JsonSchema, type RequestPart } from './validation.js';
import type { Actor } from '../core/operations/submit.js';
import { idempotentByDefault, runIdempotently, type IdempotencyDeps } from './idempotent.js';

export interface RouteInput<B = any, Q = any, P = any> {
  body: B;
  query: Q;
  params: P;
  /** Who asks, resolved from the current records for this request. */
  identity: Identity;
  /** What the caller may do where: services check it before they read or change anything. */
  access: Access;
  traceId: string;
  /** Path and query of this request, for building `next` links. */
  path: string;
  headers: Request['headers'];
  /** Who asks, for the services: user, trace and the request's Idempotency-Key binding. */
  actor: Actor;
  /** The session of the bearer token that authenticated, if one did (for logout). */
  session?: string;
  /** The client's address, for the audit log. */
  ip: string;
}

export type RouteReply =
  | { status: number; body: unknown; headers?: Record<string, string>; audit?: AuditNote }
  /** The route writes the response itself (server-sent events). */
  | { stream: (req: Request, res: Response) => Promise<void> };

export interface RouteSpec extends Omit<DocumentedRoute, 'auth' | 'idempotent'> {
  /** Routes need a bearer token or an API key unless they say otherwise. */
  auth?: boolean;
  /** Record the request in the audit log: mutating routes do unless they say otherwise. */
  audited?: boolean;
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

const ANONYMOUS: Identity = { kind: 'user', username: 'anonymous', admin: false, workspaces: {} };

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** What a route needs around it: who asks, the Idempotency-Key store, the audit log. */
export interface RouteDeps {
  authenticator: Authenticator;
  idempotency?: IdempotencyDeps;
  audit?: AuditDeps;
}

/**
 * Declares a route: its schemas, permission and one handler. The same declaration
 * validates requests and documents the route in OpenAPI.
 */
export function routeMounter(router: Router, registry: OpenApiRegistry, deps: RouteDeps): RouteMounter {
  const { authenticator, idempotency, audit } = deps;
  return (spec) => {
    const auth = spec.auth ?? true;
    const audited = audit !== undefined && (spec.audited ?? spec.method !== 'GET');
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
      const traceId = res.locals.traceId as string;
      const ip = req.ip ?? req.socket.remoteAddress ?? '';
      let identity: Identity = ANONYMOUS;
      let reply: RouteReply | undefined;
      try {
        if (auth) {
          try {
            identity = await authenticator.authenticate({ authorization: header(req, 'authorization'), apiKey: header(req, 'x-api-key') });
          } catch (err) {
            if (audit) await auditRequest(audit, { spec, req, ip, traceId, identity: null, failure: err });
            throw err;
          }
        }
        const access = new Access(identity);
        if (spec.permission && !access.can(spec.permission)) throw new ForbiddenError(spec.permission);
        // Express 5 exposes req.query as a getter; validate a copy we own.
        const parts: Record<RequestPart, unknown> = {
          path: { ...req.params },
          query: { ...(req.query as object) },
          body: req.body === undefined && spec.bodyOptional ? {} : req.body,
        };
        const run = async (binding?: Actor['idempotency']): Promise<RouteReply> => {
          const problems = checks.flatMap(([part, validate]) => (validate(parts[part]) ? [] : toProblems(validate.errors, part)));
          if (problems.length) throw new ValidationError(problems);
          return spec.handler({
            body: parts.body,
            query: parts.query,
            params: parts.path,
            identity,
            access,
            traceId,
            path: req.originalUrl,
            headers: req.headers,
            actor: { username: principalLabel(identity), traceId, idempotency: binding, access },
            session: identity.session,
            ip,
          });
        };
        // Validation runs under the key too, so a 400 is replayed like any other answer; the
        // fingerprint is taken before validation fills in defaults.
        reply = idempotent ? await runIdempotently(idempotency!, req, principalId(identity), traceId, parts, run) : await run();
      } catch (err) {
        if (audited && (identity !== ANONYMOUS || !auth) && err instanceof EngineError) await auditRequest(audit!, { spec, req, ip, traceId, identity, failure: err });
        throw err;
      }
      if ('stream' in reply) return reply.stream(req, res);
      if (audited) await auditRequest(audit!, { spec, req, ip, traceId, identity, reply });
      if (reply.headers) res.set(reply.headers);
      res.status(reply.status).json(reply.body);
    };
    router[spec.method.toLowerCase() as 'get' | 'post' | 'delete' | 'patch' | 'put'](expressPath, handle);
  };
}

export type { JsonSchema };
