import type { CoreContext } from '../context.js';
import { isTerminal, type Operation } from './model.js';

const POLL_MS = 100;

/** The operation once finished, or as it stands when `timeoutMs` runs out. */
export async function waitForOperation(ctx: CoreContext, id: string, timeoutMs: number): Promise<Operation | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const op = await ctx.store.get(id);
    if (!op || isTerminal(op.status) || Date.now() >= deadline) return op;
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
  }
}
