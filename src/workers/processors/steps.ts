import type { EarlierAttempt, ProviderServer, StepOutcome } from '../../common/provider.js';
import type { ProcessorEnv } from '../run-operation.js';

/** Moves one multi-stage step may take before something is wrong (a provider that never settles). */
const MAX_MOVES = 20;

/**
 * Runs a step of the provider contract (delete, power action, resize) to its end: each move
 * is kept in the journal and its wait parks the operation, so a resumed run replays the moves
 * already made and goes on from the first one not yet made.
 */
export async function runMoves(
  env: ProcessorEnv,
  name: string,
  move: (earlier: EarlierAttempt | undefined) => Promise<StepOutcome>,
  opts: { intent?: boolean } = {},
): Promise<{ outcomes: StepOutcome[]; server: ProviderServer | null }> {
  const outcomes: StepOutcome[] = [];
  // The server as the last wait left it: most callers need nothing fresher.
  let server: ProviderServer | null = null;
  for (let n = 0; n < MAX_MOVES; n++) {
    const stage = `${name}#${n}`;
    // With `intent`, a move an earlier run began and may have sent is handed that run's start,
    // so the adapter looks for its effect before sending again.
    const outcome = await env.step(
      stage,
      async (rerun, since) => {
        const made = await move(rerun ? { since } : undefined);
        if (made.note) await env.progress(name, made.note);
        return made;
      },
      { intent: opts.intent },
    );
    outcomes.push(outcome);
    server = outcome.wait ? await env.waitFor(stage, outcome.wait) : null;
    if (!outcome.again) return { outcomes, server };
  }
  throw new Error(`${name} did not finish after ${MAX_MOVES} moves`);
}

/** The server once its moves are done: as their last wait left it, or read afresh when no move waited. */
export async function serverAfterMoves(
  env: ProcessorEnv,
  providerId: string,
  moved: { server: ProviderServer | null },
  during: string,
): Promise<ProviderServer> {
  const server = moved.server ?? (await env.provider.getServer(providerId, env.call));
  if (!server) throw new Error(`${env.provider.name} server ${providerId} disappeared during ${during}`);
  return server;
}
