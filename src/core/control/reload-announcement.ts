import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';

/** What a reload announcement says: who asked, under which trace, and which process announced it. */
export interface ReloadAnnouncement {
  requested_by?: string;
  trace_id?: string;
  /** The announcing process (`RELOAD_ORIGIN` of that process), which has reloaded already. */
  origin?: string;
}

/** This process, as announcements name it. */
export const RELOAD_ORIGIN = `${hostname()}:${process.pid}:${randomUUID()}`;

/**
 * A configuration reload, announced to every other process over Redis pub/sub (workers and the
 * other API replicas): each reads its own settings again (its environment and the same settings
 * file) and applies what it can. One that misses the message (disconnected at that moment)
 * keeps its settings until its next reload or restart. Returns how many subscribers heard it.
 */
export async function announceReload(redis: Redis, keys: Keys, requestedBy: string, traceId: string): Promise<number> {
  return redis.publish(keys.configReloadChannel(), JSON.stringify({ requested_by: requestedBy, trace_id: traceId, origin: RELOAD_ORIGIN, at: new Date().toISOString() }));
}

/** Calls `onReload` for each announcement; `subscriber` is a connection used for subscriptions only. */
export async function listenForReloads(subscriber: Redis, keys: Keys, onReload: (announcement: ReloadAnnouncement) => void): Promise<void> {
  await subscriber.subscribe(keys.configReloadChannel());
  subscriber.on('message', (channel: string, message: string) => {
    if (channel !== keys.configReloadChannel()) return;
    let announcement: ReloadAnnouncement = {};
    try {
      const parsed = JSON.parse(message) as unknown;
      if (parsed && typeof parsed === 'object') announcement = parsed as typeof announcement;
    } catch {
      // Whoever published it, a reload re-reads what this process would read anyway.
    }
    // The announcing process reloaded before it announced.
    if (announcement.origin === RELOAD_ORIGIN) return;
    onReload(announcement);
  });
}
