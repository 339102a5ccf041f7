import { Redis } from 'ioredis';

/**
 * Waits until a freshly started redis-server answers PING (a large AOF answers LOADING for
 * a while first). Gives up early, returning false, once `alive()` says the process exited.
 */
export async function redisAnswers(url: string, alive: () => boolean, timeoutMs = 15000): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  probe.on('error', () => undefined);
  const deadline = Date.now() + timeoutMs;
  try {
    while (alive() && Date.now() < deadline) {
      try {
        await probe.connect();
        await probe.ping();
        return true;
      } catch {
        probe.disconnect();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return false;
  } finally {
    probe.disconnect();
  }
}
