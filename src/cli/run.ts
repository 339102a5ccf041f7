import type { Command } from 'commander';
import { contextOf, type CliContext } from './context.js';

/** The exit code the action that ran asked for (0 when it returned nothing). */
export const outcome = { code: 0 };

/**
 * A commander action: builds the context from the command (its options and the program's) and
 * runs `fn` with the positional arguments; what it returns is the exit code.
 */
export function action<A extends unknown[]>(fn: (ctx: CliContext, ...args: A) => Promise<number | void>) {
  return async (...received: unknown[]): Promise<void> => {
    const command = received[received.length - 1] as Command;
    const args = received.slice(0, -2) as A;
    const code = await fn(contextOf(command), ...args);
    outcome.code = typeof code === 'number' ? code : 0;
  };
}
