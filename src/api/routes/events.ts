import type { CoreContext } from '../../core/context.js';
import { ValidationError } from '../../common/errors.js';
import { isEventId } from '../../core/events/event.js';
import { eventsAfter, type EventHub } from '../../core/events/hub.js';
import type { RouteMounter } from '../route.js';
import { streamEvents } from '../sse.js';
import { workspaceName } from '../schemas/common.js';

const REPLAY_LIMIT = 10000;

/** The client's resume point: the Last-Event-ID header, or `last_event_id` for clients that cannot set headers. */
export function lastEventId(header: string | string[] | undefined, query: string | undefined): string | null {
  const raw = (Array.isArray(header) ? header[0] : header) ?? query;
  if (raw === undefined || raw === '') return null;
  if (!isEventId(raw)) throw new ValidationError([{ field: header !== undefined ? 'header.Last-Event-ID' : 'query.last_event_id', problem: "must be an event id such as '1732300000000-0'" }]);
  return raw;
}

export function eventRoutes(route: RouteMounter, ctx: CoreContext, hub: EventHub): void {
  route({
    method: 'GET', path: '/v1/events', operationId: 'streamEvents', tag: 'operations', summary: 'Server-sent events: every operation transition, progress and drift, live',
    description: 'A `text/event-stream` of the workspaces you may read. Without a resume point it starts with what happens from now on; with `Last-Event-ID` (or `last_event_id`) it replays what came after that event first.',
    permission: 'operation_read',
    query: {
      type: 'object',
      additionalProperties: false,
      properties: {
        workspace: workspaceName,
        kind: { type: 'string', enum: ['state', 'progress', 'cancel_requested', 'drift'] },
        last_event_id: { type: 'string', description: 'Resume after this event id (or send the Last-Event-ID header)' },
      },
    },
    responses: { 200: { description: 'text/event-stream; `id` is the stream id, `event` the kind, `data` the event as JSON' } },
    handler: async ({ query, headers, access }) => {
      const after = lastEventId(headers['last-event-id'], query.last_event_id);
      // Only events of the workspaces the caller may read; one without a workspace is no one's to see but an admin's.
      const visible = access.workspacesWith('operation_read');
      const seen = visible === null ? () => true : (ws: string | undefined) => ws !== undefined && visible.includes(ws);
      const matches = (e: { workspace?: string; kind: string }) =>
        seen(e.workspace) && (!query.workspace || e.workspace === query.workspace) && (!query.kind || e.kind === query.kind);
      return {
        stream: (req, res) =>
          streamEvents(req, res, hub, {
            after,
            // Without a resume point a client gets what happens from now on.
            history: async () => (after ? (await eventsAfter(ctx.redis, ctx.keys, after, REPLAY_LIMIT)).filter(matches) : []),
            matches,
          }),
      };
    },
  });
}
