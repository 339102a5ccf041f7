/**
 * Server-sent events over fetch (EventSource cannot send an Authorization header), framed by
 * eventsource-parser. Reconnects after a drop, resuming with Last-Event-ID.
 */
import { createParser } from 'eventsource-parser';
import type { EngineEvent } from '../core/events/event.js';
import { authorizedFetch } from './api.js';

export type { EngineEvent };

export interface StreamHandle {
  close(): void;
}

export interface StreamOptions {
  /** The event after which the server ends the stream (an operation's final state): no reconnect after it. */
  endsWith?: (e: EngineEvent) => boolean;
  onOpen?: () => void;
  onError?: (message: string) => void;
}

export function openStream(path: string, onEvent: (e: EngineEvent) => void, opts: StreamOptions = {}): StreamHandle {
  let closed = false;
  let lastId: string | null = null;
  let controller: AbortController | null = null;
  let retryMs = 1000;
  let ended = false;

  const run = async () => {
    while (!closed) {
      controller = new AbortController();
      try {
        const res = await authorizedFetch(path, {
          headers: { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
          signal: controller.signal,
        });
        if (!res.ok || !res.body) {
          opts.onError?.(`event stream answered ${res.status}`);
          if (res.status === 401 || res.status === 403 || res.status === 404) return;
        } else {
          retryMs = 1000;
          opts.onOpen?.();
          const parser = createParser({
            onEvent: (message) => {
              if (message.id) lastId = message.id;
              let event: EngineEvent;
              try {
                event = JSON.parse(message.data) as EngineEvent;
              } catch {
                return; // a frame that is not JSON is ignored
              }
              if (opts.endsWith?.(event)) ended = true;
              onEvent(event);
            },
          });
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            parser.feed(value);
          }
          if (ended) return;
        }
      } catch (err) {
        if (closed) return;
        opts.onError?.((err as Error).message);
      }
      if (closed) return;
      await new Promise((r) => setTimeout(r, retryMs));
      retryMs = Math.min(retryMs * 2, 15000);
    }
  };
  void run();
  return {
    close: () => {
      closed = true;
      controller?.abort();
    },
  };
}
