import type { CoreContext } from '../context.js';
import type { EventHub } from '../events/hub.js';
import { isTerminal, type Operation } from './model.js';

/**
 * The operation once finished, or as it stands when `timeoutMs` runs out. Woken by the
 * operation's own state events, so a waiting client costs no polling.
 */
export async function waitForOperation(ctx: CoreContext, hub: EventHub, id: string, timeoutMs: number): Promise<Operation | null> {
  let wake: () => void = () => undefined;
  const woken = new Promise<void>((resolve) => (wake = resolve));
  // Listen before reading, so a finish between the read and the listen is not missed.
  const unsubscribe = await hub.subscribe((event) => {
    if (event.operation_id === id && event.kind === 'state' && event.to && isTerminal(event.to as Operation['status'])) wake();
  });
  try {
    const op = await ctx.store.get(id);
    if (!op || isTerminal(op.status) || timeoutMs <= 0) return op;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    return ctx.store.get(id);
  } finally {
    unsubscribe();
  }
}
