/**
 * What the engine says, over its API: the operations, the inventory, and whether anything
 * is still pending or running.
 */
import type { Operation } from '../src/core/operations/model.js';
import type { ServerRecord } from '../src/core/servers/inventory.js';
import type { EngineClient } from './client.js';
import { sleep } from './system.js';

export const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/**
 * Waits until no operation is pending or running, seen twice a second apart, or `timeoutMs`
 * passes. Resolves with whether it got there.
 */
export async function waitForQuiescence(client: EngineClient, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let quietSince: number | null = null;
  while (Date.now() < deadline) {
    const busy = await Promise.all(
      ['pending', 'running'].map((status) =>
        client.call('GET', `/v1/operations?status=${status}&limit=1`).then((r) => (r.status === 200 ? (r.body as unknown[]).length : 1), () => 1),
      ),
    );
    if (busy.every((n) => n === 0)) {
      quietSince ??= Date.now();
      if (Date.now() - quietSince >= 1000) return true;
    } else {
      quietSince = null;
    }
    await sleep(250);
  }
  return false;
}

export async function allOperations(client: EngineClient): Promise<Operation[]> {
  return client.readAll<Operation>('/v1/operations');
}

/** One operation, or null when the engine does not know it. */
export async function operation(client: EngineClient, id: string): Promise<Operation | null> {
  const res = await client.read(`/v1/operations/${id}`);
  return res.status === 200 ? (res.body as Operation) : null;
}

export async function inventory(client: EngineClient): Promise<ServerRecord[]> {
  return client.readAll<ServerRecord>('/v1/servers');
}
