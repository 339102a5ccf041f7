import type { Request, Response, Router, NextFunction } from 'express';
import { Access } from '../core/auth/access.js';
import type { Authenticator } from '../core/auth/authenticate.js';
import { principalId, principalLabel, type Identity } from '../core/auth/identity.js';
import type { Permission } from '../core/auth/permissions.js';
import { EngineError, ForbiddenError, ValidationError } from '../common/errors.js';
import { auditRequest, type AuditDeps, type AuditNote } from './audit.js';
import type { DocumentedRoute, OpenApiRegistry } from './openapi.js';
import { compile, toProblems, type JsonSchema, type RequestPart } from './validation.js';
import type { Actor } from '../core/operations/submit.js';
import { idempotentByDefault, runIdempotently, type IdempotencyDeps } from './idempotent.js';
import { isRefusedCredential, RateLimitedError, type ApiLimits, type CredentialAttempt, type CredentialThrottle } from './middleware/rate-limit.js';

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
  /** The handler honours `Idempotency-Key` itself (the droplets API's routes): documented as taking one. */
  keyed?: boolean;
  permission?: Permission;
  /** A body may be omitted entirely (e.g. DELETE); when sent, it is validated. */
  bodyOptional?: boolean;
  /**
   * The route checks a credential: its failures are counted per client address and username
   * (`RATE_LIMIT_AUTH`, see middleware/rate-limit.ts). Authenticated routes also spend the
   * caller's request budget; unauthenticated ones without `throttle` (`/health`) are not limited.
   */
  throttle?: CredentialThrottle;
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

/** Whose failures a credential check counts besides the address's: the login's username, or the caller's own. */
function throttledUsername(kind: CredentialThrottle, req: Request, identity: Identity): string | undefined {
  if (kind === 'login') {
    const claimed = (req.body as { username?: unknown } | undefined)?.username;
    return typeof claimed === 'string' ? claimed : undefined;
  }
  return kind === 'password' && identity.kind === 'user' ? identity.username : undefined;
}

/** What a route needs around it: who asks, the Idempotency-Key store, the audit log. */
export interface RouteDeps {
  authenticator: Authenticator;
  idempotency?: IdempotencyDeps;
  audit?: AuditDeps;
  /** Request budgets, credential throttling and event stream slots; none when absent. */
  limits?: ApiLimits;
}

/**
 * Declares a route: its schemas, permission and one handler. The same declaration
 * validates requests and documents the route in OpenAPI.
 */
export function routeMounter(router: Router, registry: OpenApiRegistry, deps: RouteDeps): RouteMounter {
  const { authenticator, idempotency, audit, limits } = deps;
  return (spec) => {
    const auth = spec.auth ?? true;
    const audited = audit !== undefined && (spec.audited ?? spec.method !== 'GET');
    // Keys are scoped per user, so only authenticated routes of a router with a store take them.
    const idempotent = spec.idempotent ?? (auth && idempotency !== undefined && idempotentByDefault(spec.method, spec.path));
    if (idempotent && (!idempotency || !auth)) throw new Error(`${spec.method} ${spec.path}: idempotent routes need an authenticated router with an idempotency store`);
    const limited = limits !== undefined && (auth || spec.throttle !== undefined);
    const responses = limited ? { 429: { description: 'Over the limit (`RATE_LIMITED`): `Retry-After` and `RateLimit-*` say when to retry' }, ...spec.responses } : spec.responses;
    registry.add({ ...spec, auth, idempotent: idempotent || spec.keyed === true, responses });
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
      let attempt: CredentialAttempt | undefined;
      try {
        if (auth) {
          const credentials = { authorization: header(req, 'authorization'), apiKey: header(req, 'x-api-key') };
          const presented = credentials.authorization !== undefined || credentials.apiKey !== undefined;
          try {
            if (limits && presented) limits.refuseIfThrottled(res, ip);
            identity = await authenticator.authenticate(credentials);
          } catch (err) {
            if (audit) await auditRequest(audit, { spec, req, ip, traceId, identity: null, failure: err });
            // Only a credential that was presented and refused counts: a request without one is a client's slip, not a guess.
            if (limits && presented && isRefusedCredential(err)) await limits.credentialRefused(res, ip);
            throw err;
          }
        }
        // Limits come before anything else is read or checked for the caller; a 429 is neither
        // audited (a flood of them would flood the log) nor kept under an Idempotency-Key.
        if (limits && auth) await limits.spend(res, principalId(identity));
        if (limits && spec.throttle) attempt = await limits.credentialAttempt(res, spec.throttle, ip, throttledUsername(spec.throttle, req, identity));
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
        await attempt?.settle(err);
        if (audited && (identity !== ANONYMOUS || !auth) && err instanceof EngineError && !(err instanceof RateLimitedError)) await auditRequest(audit!, { spec, req, ip, traceId, identity, failure: err });
        throw err;
      }
      await attempt?.settle(null);
      if ('stream' in reply) return openStream(reply, req, res, identity);
      if (audited) await auditRequest(audit!, { spec, req, ip, traceId, identity, reply });
      if (reply.headers) res.set(reply.headers);
      res.status(reply.status).json(reply.body);
    };
    /** A stream holds one of its identity's slots (SSE_MAX_STREAMS_PER_IDENTITY) until it closes. */
    const openStream = async (reply: Extract<RouteReply, { stream: unknown }>, req: Request, res: Response, identity: Identity): Promise<void> => {
      if (!limits) return reply.stream(req, res);
      let closed = false;
      let release: (() => void) | undefined;
      // Listening before the slot is taken: a client gone meanwhile must not keep it.
      res.once('close', () => {
        closed = true;
        release?.();
      });
      const slot = await limits.streams.acquire(principalId(identity));
      if (!slot.granted) throw limits.streamRefusal(res, slot.open, slot.cap);
      if (closed) return slot.release();
      release = slot.release;
      return reply.stream(req, res);
    };
    router[spec.method.toLowerCase() as 'get' | 'post' | 'delete' | 'patch' | 'put'](expressPath, handle);
  };
}

export type { JsonSchema };
