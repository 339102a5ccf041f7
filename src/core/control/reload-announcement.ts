import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';

/**
 * A configuration reload, announced to every worker over Redis pub/sub: each reads its own
 * settings again (its environment and the same settings file) and applies what it can. A worker
 * that misses the message (disconnected at that moment) keeps its settings until its next
 * reload or restart; the API's answer speaks for the API only.
 */
export async function announceReload(redis: Redis, keys: Keys, requestedBy: string, traceId: string): Promise<number> {
  return redis.publish(keys.configReloadChannel(), JSON.stringify({ requested_by: requestedBy, trace_id: traceId, at: new Date().toISOString() }));
}

/** Calls `onReload` for each announcement; `subscriber` is a connection used for subscriptions only. */
export async function listenForReloads(subscriber: Redis, keys: Keys, onReload: (announcement: { requested_by?: string; trace_id?: string }) => void): Promise<void> {
  await subscriber.subscribe(keys.configReloadChannel());
  subscriber.on('message', (channel: string, message: string) => {
    if (channel !== keys.configReloadChannel()) return;
    let announcement: { requested_by?: string; trace_id?: string } = {};
    try {
      const parsed = JSON.parse(message) as unknown;
      if (parsed && typeof parsed === 'object') announcement = parsed as typeof announcement;
    } catch {
      // Whoever published it, a reload re-reads what this process would read anyway.
    }
    onReload(announcement);
  });
}
