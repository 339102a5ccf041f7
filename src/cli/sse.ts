import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { EngineEvent } from '../core/events/event.js';

export type { EngineEvent };

/** One event of the engine's streams (`GET /v1/events`, `GET /v1/operations/{id}/events`): the SSE id and kind, and the event's JSON. */
export interface StreamEvent {
  id: string;
  kind: string;
  data: EngineEvent;
}

/** The stream stopped without the server ending it cleanly, or went silent past the heartbeat. */
export class StreamDropped extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'StreamDropped';
  }
}

/**
 * Reads a text/event-stream answer (framing by eventsource-parser) and yields each event. The
 * body is read as it arrives, whatever the consumer is doing: a connection that breaks while
 * the consumer is busy (reading a snapshot, say) would otherwise take the events still buffered
 * with it, and the resume would start from an older id than was delivered. Ends when the server
 * ends the stream; throws StreamDropped, after every event received before, when the connection
 * breaks or nothing (not even a keep-alive comment) arrives for `idleMs` (the server sends one
 * every 15 s).
 */
export function readEvents(res: Response, idleMs = 45_000): AsyncGenerator<StreamEvent> {
  const queue: StreamEvent[] = [];
  let ended = false;
  let failure: StreamDropped | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const parser = createParser({
    onEvent: (message: EventSourceMessage) => {
      let data: EngineEvent;
      try {
        data = JSON.parse(message.data) as EngineEvent;
      } catch {
        return; // not one of ours
      }
      queue.push({ id: message.id ?? data.id ?? '', kind: message.event ?? data.kind, data });
    },
  });
  const reader = res.body?.getReader();
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdle = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      failure ??= new StreamDropped(`nothing received for ${Math.round(idleMs / 1000)}s`);
      reader?.cancel().catch(() => undefined);
      notify();
    }, idleMs);
  };

  const pump = async () => {
    if (!reader) return;
    const decoder = new TextDecoder();
    armIdle();
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) return;
      armIdle();
      parser.feed(decoder.decode(chunk.value, { stream: true }));
      notify();
    }
  };
  pump()
    .catch((err: unknown) => {
      failure ??= new StreamDropped((err as Error)?.message ?? String(err));
    })
    .finally(() => {
      clearTimeout(idleTimer);
      ended = true;
      notify();
    });

  return (async function* () {
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (failure) throw failure;
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      clearTimeout(idleTimer);
      reader?.cancel().catch(() => undefined);
    }
  })();
}
