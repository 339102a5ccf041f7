/**
 * End-to-end throughput: how fast N submitted units of work are all completed, timed from
 * the first submit to the moment the last completion is seen. Used for both the engine
 * (creates through the API) and the bare-BullMQ baseline (no-op jobs added directly).
 */

export interface CompletionRun {
  /** Submits units `first` to `first + count - 1`, `concurrency` at a time; rejects unless all were accepted. */
  submitAll: (first: number, count: number, concurrency: number) => Promise<void>;
  /** Units completed so far (cumulative, including earlier rounds). */
  completed: () => Promise<number>;
  /** Units that failed so far; any failure stops the run. */
  failed: () => Promise<number>;
  /** Why a unit failed, for the error message. */
  describeFailure?: () => Promise<string>;
}

export interface CompletionResult {
  count: number;
  seconds: number;
  perSecond: number;
}

/** How often completions are counted; small against the seconds a run takes. */
const COUNT_INTERVAL_MS = 5;

/** Calls `task(0..total-1)` with at most `concurrency` calls in flight. */
export async function runWithConcurrency(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
}

/**
 * Submits `count` units (numbered from `firstIndex`) with `concurrency` in flight and waits
 * until the completed count has grown by `count`.
 */
export async function timeCompletions(
  run: CompletionRun,
  opts: { firstIndex: number; count: number; concurrency: number; timeoutMs: number },
): Promise<CompletionResult> {
  const before = await run.completed();
  const started = performance.now();
  const submitting = run.submitAll(opts.firstIndex, opts.count, opts.concurrency);
  let submitError: unknown = null;
  submitting.catch((err: unknown) => (submitError = err));

  const deadline = started + opts.timeoutMs;
  for (;;) {
    if (submitError !== null) throw submitError;
    const done = (await run.completed()) - before;
    if (done >= opts.count) break;
    const failed = await run.failed();
    if (failed > 0) {
      const why = run.describeFailure ? `; e.g. ${await run.describeFailure()}` : '';
      throw new Error(`${failed} units failed (${done} of ${opts.count} completed)${why}`);
    }
    if (performance.now() > deadline) throw new Error(`only ${done} of ${opts.count} completed within ${opts.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, COUNT_INTERVAL_MS));
  }
  const seconds = (performance.now() - started) / 1000;
  await submitting;
  return { count: opts.count, seconds, perSecond: opts.count / seconds };
}
