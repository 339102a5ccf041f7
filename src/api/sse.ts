import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Redis } from 'ioredis';
import type { EngineEvent } from '../core/events/event.js';
import { compareEventIds } from '../core/events/event.js';
import type { EventHub } from '../core/events/hub.js';
import type { Logger } from '../core/logger.js';
import { luaScript, type ScriptRunner } from '../core/lua.js';

/** A comment line every 15 s keeps proxies from closing an idle stream, and refreshes its slot. */
export const HEARTBEAT_MS = 15000;

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
  let unsubscribe: (() => void) | null = null;

  const finish = () => {
    if (finished) return;
    finished = true;
    clearInterval(heartbeat);
    unsubscribe?.();
    res.end();
  };
  // Listening on the response too: it reports a client gone even while we await the hub below.
  res.once('close', finish);
  const deliver = (event: EngineEvent) => {
    if (finished || (last !== null && compareEventIds(event.id, last) <= 0)) return;
    last = event.id;
    res.write(`id: ${event.id}\nevent: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`);
    if (opts.endsWith?.(event)) finish();
  };
  const stopListening = await hub.subscribe((event) => {
    if (!opts.matches(event)) return;
    if (replaying) held.push(event);
    else deliver(event);
  });
  if (finished) return stopListening();
  unsubscribe = stopListening;
  req.on('close', finish);

  for (const event of await opts.history()) deliver(event);
  replaying = false;
  for (const event of held) deliver(event);
}

/**
 * Takes a slot (ARGV: member, ttl ms, cap) unless the identity already holds `cap` live ones.
 * A slot is a member of the identity's sorted set scored by when it lapses (Redis's clock, so
 * replicas' clocks do not matter): one a crashed replica can no longer refresh drops out within
 * the TTL. Returns {1, open} or {0, open}.
 */
const ACQUIRE_SLOT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local open = redis.call('ZCARD', KEYS[1])
if open >= tonumber(ARGV[3]) then return {0, open} end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, open + 1}`;

/** Moves a live slot's lapse time on (ARGV: member, ttl ms); re-adds it if it lapsed meanwhile. */
const REFRESH_SLOT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1`;

export type SlotGrant = { granted: true; release: () => void } | { granted: false; open: number; cap: number };

/**
 * At most `cap` concurrent event streams per identity, counted in Redis so the cap holds across
 * API replicas (`<prefix>:rl:sse:<principal>`). A stream's slot is refreshed at every heartbeat
 * (one pipeline for all of this process's streams) and lapses `ttlMs` after the last refresh, so
 * the slots of a replica that died without releasing them free themselves.
 */
export class StreamSlots {
  private readonly open = new Map<string, string>();
  private readonly acquireScript: ScriptRunner;
  private timer: NodeJS.Timeout | null = null;
  private lastWarning = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly cap: number,
    private readonly logger: Logger,
    private readonly ttlMs = 3 * HEARTBEAT_MS,
    private readonly refreshMs = HEARTBEAT_MS,
  ) {
    this.acquireScript = luaScript(redis, 'peSseAcquireSlot', ACQUIRE_SLOT, 1);
    luaScript(redis, 'peSseRefreshSlot', REFRESH_SLOT, 1);
  }

  key(principal: string): string {
    return `${this.prefix}:rl:sse:${principal}`;
  }

  /** A slot for one stream of `principal`, or the count that refuses it. Fails open on a Redis error. */
  async acquire(principal: string): Promise<SlotGrant> {
    const key = this.key(principal);
    const member = randomUUID();
    let reply: [number, number];
    try {
      reply = (await this.acquireScript(key, member, String(this.ttlMs), String(this.cap))) as [number, number];
    } catch (err) {
      this.warn(err);
      return { granted: true, release: () => undefined };
    }
    if (Number(reply[0]) !== 1) return { granted: false, open: Number(reply[1]), cap: this.cap };
    this.open.set(member, key);
    this.timer ??= setInterval(() => this.refresh(), this.refreshMs).unref();
    let released = false;
    return {
      granted: true,
      release: () => {
        if (released) return;
        released = true;
        this.open.delete(member);
        if (this.open.size === 0 && this.timer) {
          clearInterval(this.timer);
          this.timer = null;
        }
        // Same connection as the refreshes, so a refresh sent earlier cannot re-add it afterwards.
        // Without a connection (Redis away, the API closing) the slot lapses by itself instead.
        if (this.redis.status === 'ready') this.redis.zrem(key, member).catch((err) => this.warn(err));
      },
    };
  }

  /** Streams of this process holding a slot. */
  get size(): number {
    return this.open.size;
  }

  private refresh(): void {
    if (this.open.size === 0) return;
    const pipeline = this.redis.pipeline();
    const ttl = String(this.ttlMs);
    for (const [member, key] of this.open) (pipeline as unknown as Record<string, (...a: string[]) => unknown>).peSseRefreshSlot!(key, member, ttl);
    pipeline.exec().catch((err) => this.warn(err));
  }

  private warn(err: unknown): void {
    // Fail open: a Redis hiccup must not refuse or end streams; the cap is back once Redis is.
    if (Date.now() - this.lastWarning < 10_000) return;
    this.lastWarning = Date.now();
    this.logger.warn('event stream slots unavailable; streams are not counted meanwhile', { error: (err as Error)?.message ?? String(err) });
  }
}
