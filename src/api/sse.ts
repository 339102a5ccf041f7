import type { Request, Response } from 'express';
import type { EngineEvent } from '../core/events/event.js';
import { compareEventIds } from '../core/events/event.js';
import type { EventHub } from '../core/events/hub.js';

const HEARTBEAT_MS = 15000;

export interface EventStreamOptions {
  /** Only events after this id (the client's Last-Event-ID) are sent. */
  after: string | null;
  /** Past events to send first, oldest first, all after `after`. */
  history: () => Promise<EngineEvent[]>;
  /** Which live events this client wants. */
  matches: (event: EngineEvent) => boolean;
  /** An event after which the stream is complete (an operation's final state). */
  endsWith?: (event: EngineEvent) => boolean;
}

/**
 * Server-sent events: the history first, then live events, each once and in stream order
 * (live events arriving during the replay are held back and de-duplicated by id), with the
 * stream id as the SSE id so a client resumes with Last-Event-ID.
 */
export async function streamEvents(req: Request, res: Response, hub: EventHub, opts: EventStreamOptions): Promise<void> {
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  let last = opts.after;
  let replaying = true;
  let finished = false;
  const held: EngineEvent[] = [];
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);

  const finish = () => {
    if (finished) return;
    finished = true;
    clearInterval(heartbeat);
    unsubscribe();
    res.end();
  };
  const deliver = (event: EngineEvent) => {
    if (finished || (last !== null && compareEventIds(event.id, last) <= 0)) return;
    last = event.id;
    res.write(`id: ${event.id}\nevent: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`);
    if (opts.endsWith?.(event)) finish();
  };
  const unsubscribe = await hub.subscribe((event) => {
    if (!opts.matches(event)) return;
    if (replaying) held.push(event);
    else deliver(event);
  });
  req.on('close', finish);

  for (const event of await opts.history()) deliver(event);
  replaying = false;
  for (const event of held) deliver(event);
}
