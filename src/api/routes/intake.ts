import type { CoreContext } from '../../core/context.js';
import { listPauses, pauseIntake, resumeIntake } from '../../core/intake/pauses.js';
import type { RouteMounter } from '../route.js';
import { errorRef } from '../schemas/common.js';
import { intakePauseParams, intakePauseSchema, pauseIntakeBody, resumeReplySchema } from '../schemas/intake.js';

export function intakeRoutes(route: RouteMounter, ctx: CoreContext): void {
  route({
    method: 'GET', path: '/v1/intake/pauses', operationId: 'listIntakePauses', tag: 'intake', summary: 'The intake pauses in force',
    description: "Every provider's pause and those of the workspaces you see, each with how many pending operations it holds back.",
    permission: 'operation_read',
    responses: { 200: { description: 'The pauses, oldest first', schema: { type: 'array', items: intakePauseSchema } } },
    handler: async ({ access }) => ({ status: 200, body: await listPauses(ctx, access) }),
  });

  route({
    method: 'POST', path: '/v1/intake/pauses', operationId: 'pauseIntake', tag: 'intake', summary: "Pause a workspace's or a provider's intake",
    description:
      'New operations are still accepted but wait `pending`, their progress saying `intake paused for <scope> <name>: <reason>`; operations already running go on. ' +
      "A workspace's intake needs `intake_manage` there (its operators and admins); a provider's, a global admin. " +
      'Pausing what is already paused answers 200 with the pause as it stands.',
    permission: 'intake_manage', body: pauseIntakeBody,
    responses: {
      201: { description: 'Paused', schema: intakePauseSchema },
      200: { description: 'It was already paused: the pause as it stands', schema: intakePauseSchema },
      403: { description: 'Not yours to pause', schema: errorRef },
      404: { description: 'No such workspace', schema: errorRef },
    },
    handler: async ({ body, access, actor }) => {
      const { pause, created } = await pauseIntake(ctx, access, body, actor.username);
      return {
        status: created ? 201 : 200,
        body: pause,
        audit: { resource_type: 'intake_pause', resource_id: `${pause.scope}:${pause.name}`, ...(pause.scope === 'workspace' ? { workspace: pause.name } : {}), detail: { reason: pause.reason, created } },
      };
    },
  });

  route({
    method: 'DELETE', path: '/v1/intake/pauses/{scope}/{name}', operationId: 'resumeIntake', tag: 'intake', summary: "Resume a workspace's or a provider's intake",
    description: 'Lifts the pause: the operations it held start at once. Resuming what is not paused answers 200 with `was_paused: false`.',
    permission: 'intake_manage', params: intakePauseParams, bodyOptional: true,
    responses: {
      200: { description: 'Resumed; `released` lists the operations it held', schema: resumeReplySchema },
      403: { description: 'Not yours to resume', schema: errorRef },
      404: { description: 'No such workspace', schema: errorRef },
    },
    handler: async ({ params, access, actor }) => {
      const report = await resumeIntake(ctx, access, params.scope, params.name, actor.username);
      return {
        status: 200,
        body: report,
        audit: { resource_type: 'intake_pause', resource_id: `${report.scope}:${report.name}`, ...(report.scope === 'workspace' ? { workspace: report.name } : {}), detail: { was_paused: report.was_paused, released: report.released.length } },
      };
    },
  });
}
