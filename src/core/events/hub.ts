import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import type { Logger } from '../logger.js';
import { connectRedis, type RedisAddress } from '../redis.js';
import { outsideTraceScope } from '../../common/trace-scope.js';
import { compareEventIds, toEvent, type EngineEvent } from './event.js';
import { FINISHED_EVENTS_FIELD, finishedEventIds, finishedFieldsOf, PACKED_FIELD } from '../operations/finished-footprint.js';

export type EventListener = (event: EngineEvent) => void;

const BLOCK_MS = 5000;
const BATCH = 500;

/**
 * Tails the event stream once per process and hands every new event to whoever listens:
 * long-polls waiting for an operation to finish and server-sent event clients. One blocking
 * connection serves them all.
 */
export class EventHub {
  private readonly listeners = new Set<EventListener>();
  private reader: Redis | null = null;
  private started: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly redisUrl: RedisAddress,
    private readonly keys: Keys,
    private readonly logger: Logger,
  ) {}

  /** Starts tailing (once) and resolves when events from now on will be delivered. */
  async subscribe(listener: EventListener): Promise<() => void> {
    this.listeners.add(listener);
    // Started by the first subscriber's request, but no request's work: its lines carry no trace.
    this.started ??= outsideTraceScope(() => this.start());
    await this.started;
    return () => this.listeners.delete(listener);
  }

  private async start(): Promise<void> {
    this.reader = connectRedis(this.redisUrl, 'event-hub');
    // Start from the newest id rather than '$': with '$' an event landing between two reads would be missed.
    const newest = await this.reader.xrevrange(this.keys.events(), '+', '-', 'COUNT', 1);
    let lastId = newest[0]?.[0] ?? '0-0';
    void (async () => {
      while (!this.stopped) {
        try {
          const reply = await this.reader!.xread('COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', this.keys.events(), lastId);
          for (const [, entries] of reply ?? []) {
            for (const [id, fields] of entries) {
              lastId = id;
              const event = toEvent(id, fields);
              for (const listener of this.listeners) listener(event);
            }
          }
        } catch (err) {
          if (this.stopped) return;
          this.logger.warn('event stream read failed; retrying', { error: (err as Error).message });
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    })();
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.reader?.disconnect();
  }
}

/** Events after `afterId` (exclusive), oldest first, `limit` at most. */
export async function eventsAfter(redis: Redis, keys: Keys, afterId: string, limit: number): Promise<EngineEvent[]> {
  const entries = await redis.xrange(keys.events(), `(${afterId}`, '+', 'COUNT', limit);
  return entries.map(([id, fields]) => toEvent(id, fields));
}

/** One operation's events, oldest first, optionally only those after `afterId`. */
export async function operationHistory(redis: Redis, keys: Keys, operationId: string, afterId?: string): Promise<EngineEvent[]> {
  // Read together: a finishing transition moves the ids from the list into the record in one step.
  const read = (await redis.multi().lrange(keys.operationEvents(operationId), 0, -1).hmget(keys.operation(operationId), FINISHED_EVENTS_FIELD, PACKED_FIELD).exec()) ?? [];
  const [listed, fields] = read.map(([err, value]) => {
    if (err) throw err;
    return value;
  }) as [string[], Array<string | null>];
  const ids = listed.length > 0 ? listed : finishedEventIds(finishedFieldsOf(fields, [FINISHED_EVENTS_FIELD])[0]);
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.xrange(keys.events(), id, id);
  const replies = (await pipeline.exec()) ?? [];
  const events: EngineEvent[] = [];
  for (const [, entries] of replies) {
    // An id the stream has since trimmed away (MAXLEN) is simply gone from the history.
    const entry = (entries as Array<[string, string[]]>)[0];
    if (entry) events.push(toEvent(entry[0], entry[1]));
  }
  return afterId ? events.filter((e) => compareEventIds(e.id, afterId) > 0) : events;
}
