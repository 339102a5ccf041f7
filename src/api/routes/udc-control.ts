/**
 * The UDC management endpoints (udc-droplet-response-standards.md §8–9 and
 * multi-cloud-manager-api.md): `POST /shutdown`, `POST /emergency-stop` and `POST /reload-config`.
 * Global admins only (`system_control`); errors in the seeds' `{"detail": …}` shape.
 */
import { resolve } from 'node:path';
import express from 'express';
import { ConfigReloader } from '../../core/control/config-reload.js';
import type { ConfigSource } from '../../core/control/config-source.js';
import type { InstanceControl } from '../../core/control/instance-control.js';
import { announceReload } from '../../core/control/reload-announcement.js';
import { followReloads } from '../../core/control/follow-reloads.js';
import { RELOADABLE_SETTINGS } from '../../core/control/reloadable-settings.js';
import { ConfigError } from '../../core/config.js';
import type { CoreContext } from '../../core/context.js';
import { ValidationError } from '../../common/errors.js';
import { detailError as detail, detailRouter } from '../detail-router.js';
import type { ApiLimits } from '../middleware/rate-limit.js';
import type { OpenApiRegistry } from '../openapi.js';
import { routeMounter, type RouteDeps } from '../route.js';
import type { JsonSchema } from '../validation.js';

// Case-insensitive and with an optional trailing slash, as the router matches routes.
const CONTROL_PATH = /^\/(shutdown|emergency-stop|reload-config)\/?$/i;

/** Settings whose problems could quote a secret: their refusal names the problem without the value. */
const SECRET_SETTING = /TOKEN|SECRET|PASSWORD|KEY|REDIS_URL|USERS/;

const problems: JsonSchema = {
  type: 'object',
  required: ['detail'],
  properties: {
    detail: {
      type: 'array',
      items: { type: 'object', required: ['type', 'loc', 'msg'], properties: { type: { type: 'string' }, loc: { type: 'array', items: { type: 'string' } }, msg: { type: 'string' } } },
    },
  },
};
const errors = {
  401: { description: 'Could not validate credentials: no valid bearer token or API key', schema: detail },
  403: { description: 'Not enough permissions: `system_control` is held by global admins only', schema: detail },
  422: { description: 'A field of the body is invalid (named in `loc`)', schema: problems },
};

const shutdownBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    delay_seconds: { type: 'integer', minimum: 0, maximum: 3600, default: 0, description: 'Seconds to wait before the stop begins' },
    reason: { type: 'string', maxLength: 200, default: '', description: 'Why; logged and audited' },
  },
};

const shutdownAnswer: JsonSchema = {
  type: 'object',
  required: ['shutdown_scheduled', 'status', 'mode', 'delay_seconds', 'reason', 'scheduled_at', 'trace_id'],
  properties: {
    shutdown_scheduled: { type: 'boolean', enum: [true] },
    status: { type: 'string', enum: ['shutting_down'] },
    mode: { type: 'string', enum: ['graceful'] },
    delay_seconds: { type: 'integer', description: 'Seconds until the stop begins (of the schedule in force: an earlier one asked before stands)' },
    reason: { type: 'string' },
    scheduled_at: { type: 'string', format: 'date-time', description: 'When the stop begins' },
    trace_id: { type: 'string' },
  },
};

const emergencyAnswer: JsonSchema = {
  type: 'object',
  required: ['status', 'trace_id', 'stopped_at'],
  properties: {
    status: { type: 'string', enum: ['emergency_stop'] },
    trace_id: { type: 'string' },
    stopped_at: { type: 'string', format: 'date-time' },
  },
};

const reloadBody: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    config_path: { type: 'string', minLength: 1, maxLength: 4096, description: "The instance's settings file (CONFIG_FILE); no other file is read" },
  },
};

const names: JsonSchema = { type: 'array', items: { type: 'string' } };
const reloadAnswer: JsonSchema = {
  type: 'object',
  required: ['status', 'reloaded', 'changed', 'needs_restart', 'timestamp', 'trace_id', 'config_path', 'processes_told'],
  properties: {
    status: { type: 'string', enum: ['reloaded'] },
    reloaded: { type: 'boolean', enum: [true] },
    changed: { ...names, description: 'Settings whose new values are now in force (names only; values are never shown)' },
    needs_restart: { ...names, description: 'Settings that changed but are read only at start' },
    timestamp: { type: 'string', format: 'date-time' },
    trace_id: { type: 'string' },
    config_path: { type: 'string', description: 'The settings file read (beside the environment, which wins over it)' },
    processes_told: { type: 'integer', description: 'Other processes that heard the reload announcement and re-read their settings: the workers and the other API replicas' },
  },
};

export interface UdcControlDeps {
  ctx: CoreContext;
  registry: OpenApiRegistry;
  guards: express.RequestHandler[];
  mount: RouteDeps;
  control: InstanceControl;
  /** Where this API's settings come from, read again on a reload. */
  configSource: ConfigSource;
  /** The API's request limiters, rebuilt when RATE_LIMIT_API or RATE_LIMIT_AUTH change. */
  limits: ApiLimits;
}

/** What a reload changes beyond the live configuration: what was built from it once. */
function reloaderFor(deps: UdcControlDeps): ConfigReloader {
  return new ConfigReloader(deps.configSource, deps.ctx.config, (live, changed) => {
    if (changed.includes('LOG_LEVEL')) deps.ctx.logger.level = live.logLevel;
    if (changed.includes('RATE_LIMIT_API') || changed.includes('RATE_LIMIT_AUTH')) deps.limits.reconfigure(live.apiLimits);
  });
}

/**
 * A reload asked of another API replica reaches this one too: it reads its own settings again
 * and applies them as if asked itself. Its subscription ends with the API's Redis connection.
 */
function listenAsReplica(ctx: CoreContext, reloader: ConfigReloader): { listening: boolean } {
  const state = { listening: false };
  const subscriber = ctx.redis.duplicate();
  subscriber.on('error', () => undefined);
  ctx.closers.push(() => subscriber.disconnect());
  followReloads(subscriber, ctx.keys, ctx.logger, reloader)
    .then(() => (state.listening = true))
    .catch((err: Error) => ctx.logger.warn('this API replica will not hear reloads asked of other replicas', { error: err.message }));
  return state;
}

export function udcControlRouter(deps: UdcControlDeps): express.Router {
  return detailRouter(CONTROL_PATH, deps.guards, deps.ctx.logger, (router) => fillControlRouter(router, deps));
}

function fillControlRouter(router: express.Router, deps: UdcControlDeps): void {
  const { ctx, control } = deps;
  const reloader = reloaderFor(deps);
  const replica = listenAsReplica(ctx, reloader);
  const route = routeMounter(router, deps.registry, deps.mount);
  const tag = 'udc';

  route({
    method: 'POST', path: '/shutdown', operationId: 'shutdownInstance', tag, summary: 'Stop this instance gracefully',
    description:
      'Answers at once; after `delay_seconds` this instance stops taking work (readiness answers 503, new mutating requests 503), lets running operations finish within SHUTDOWN_TIMEOUT_MS, hands back the ones still running (pending again, for another worker) and exits. '
      + 'Under the start command the whole tree it runs stops (API, workers, sandbox, managed Redis) and nothing is restarted.',
    permission: 'system_control', body: shutdownBody, bodyOptional: true,
    responses: { 200: { description: 'Shutdown scheduled', schema: shutdownAnswer }, ...errors },
    handler: async ({ body, traceId, actor }) => {
      const { delay_seconds: delaySeconds = 0, reason = '' } = body as { delay_seconds?: number; reason?: string };
      const schedule = control.shutdown({ delaySeconds, reason, requestedBy: actor.username, traceId });
      return {
        status: 200,
        body: {
          shutdown_scheduled: true,
          status: 'shutting_down',
          mode: 'graceful',
          delay_seconds: Math.max(0, Math.ceil((schedule.at.getTime() - Date.now()) / 1000)),
          reason: schedule.reason,
          scheduled_at: schedule.at.toISOString(),
          trace_id: traceId,
        },
      };
    },
  });

  route({
    method: 'POST', path: '/emergency-stop', operationId: 'emergencyStopInstance', tag, summary: 'Stop this instance at once',
    description:
      'Answers, then stops this instance without letting work in hand finish: under the start command its API and workers are killed and nothing is restarted. '
      + 'Nothing accepted is lost: the operations its workers held are taken over by other workers over the same Redis once their locks expire, resuming from their markers.',
    permission: 'system_control', bodyOptional: true, body: { type: 'object', additionalProperties: false, properties: {} },
    responses: { 200: { description: 'Stopping', schema: emergencyAnswer }, ...errors },
    handler: async ({ traceId, actor }) => {
      control.emergencyStop({ requestedBy: actor.username, traceId });
      return { status: 200, body: { status: 'emergency_stop', trace_id: traceId, stopped_at: new Date().toISOString() } };
    },
  });

  route({
    method: 'POST', path: '/reload-config', operationId: 'reloadConfig', tag, summary: 'Read the configuration again and apply what can change live',
    description:
      'Reads the settings again (the environment the process started with, and the settings file CONFIG_FILE, default `./.env`, under it) and checks them as a start would. '
      + 'An invalid configuration is refused (422 naming the setting) and the one in force stays. Otherwise the reloadable settings that changed are applied at once '
      + `(${RELOADABLE_SETTINGS.join(', ')}) `
      + 'and listed in `changed`; other changed settings are listed in `needs_restart`. The workers and the other API replicas are told over Redis and reload too. `config_path`, when sent, must name the settings file itself.',
    permission: 'system_control', body: reloadBody, bodyOptional: true,
    responses: { 200: { description: 'Reloaded', schema: reloadAnswer }, ...errors },
    handler: async ({ body, traceId, actor }) => {
      const asked = (body as { config_path?: string }).config_path;
      if (asked !== undefined && resolve(asked) !== reloader.file) {
        throw new ValidationError([{ field: 'config_path', problem: `must name this instance's settings file (CONFIG_FILE, ${reloader.file}); no other file is read` }]);
      }
      let outcome;
      try {
        outcome = reloader.reload();
      } catch (err) {
        if (err instanceof ConfigError) {
          const problem = SECRET_SETTING.test(err.setting) ? err.problem.replace(/'[^']*'/g, "'…'") : err.problem;
          ctx.logger.warn('configuration reload refused; the configuration in force stays', { setting: err.setting, requested_by: actor.username, trace_id: traceId });
          throw new ValidationError([{ field: `config.${err.setting}`, problem }]);
        }
        throw new ValidationError([{ field: 'config_path', problem: `could not be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
      }
      ctx.logger.info('configuration reloaded', { changed: outcome.changed, needs_restart: outcome.needsRestart, requested_by: actor.username, trace_id: traceId });
      const heard = await announceReload(ctx.redis, ctx.keys, actor.username, traceId).catch((err: Error) => {
        ctx.logger.warn('could not tell the workers of the reload; they keep their settings until their next reload or restart', { error: err.message, trace_id: traceId });
        return 0;
      });
      return {
        status: 200,
        body: {
          status: 'reloaded',
          reloaded: true,
          changed: outcome.changed,
          needs_restart: outcome.needsRestart,
          timestamp: new Date().toISOString(),
          trace_id: traceId,
          config_path: reloader.file,
          // This replica's own subscription heard it too (and ignored it: it has reloaded).
          processes_told: Math.max(0, heard - (replica.listening ? 1 : 0)),
        },
      };
    },
  });
}
