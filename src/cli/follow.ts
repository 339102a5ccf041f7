import { TERMINAL_STATUSES } from '../core/operations/model.js';
import type { ApiClient } from './client.js';
import { ApiError, CliError, ConnectionError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { readEvents, StreamDropped, type StreamEvent } from './sse.js';
import type { Operation } from './types.js';

const TERMINAL: ReadonlySet<string> = TERMINAL_STATUSES;

export function isTerminal(status: unknown): boolean {
  return typeof status === 'string' && TERMINAL.has(status);
}

export interface FollowOptions {
  /** Give up waiting after this long (the operation goes on). */
  timeoutMs?: number;
  /** Each event as it arrives. */
  onEvent?: (event: StreamEvent) => void;
  /** The operation as read over GET (at the start, after a dropped stream, at the end). */
  onSnapshot?: (op: Operation) => void;
  /** A dropped stream and the attempt to resume it. */
  onReconnect?: (info: { attempt: number; delayMs: number; lastEventId: string | null; reason: string }) => void;
  /** How long reconnecting may keep failing before giving up (default 60 s). */
  unreachableAfterMs?: number;
}

export type FollowResult = { outcome: 'finished'; operation: Operation } | { outcome: 'timeout'; operation: Operation | null };

/** Whether an error means "try again later" rather than "this will never work". */
export function transient(err: unknown): boolean {
  if (err instanceof ConnectionError || err instanceof StreamDropped) return true;
  if (err instanceof ApiError) return err.status === 429 || err.status >= 500;
  return false;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export function backoffMs(attempt: number): number {
  const base = Math.min(250 * 2 ** attempt, 5000);
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/**
 * Follows one operation to its end over `GET /v1/operations/{id}/events`: the history first,
 * then live events, until its final state. A dropped connection is resumed with Last-Event-ID
 * (the last id seen) after a backoff; between attempts the operation is read over GET, so an
 * operation that finished while the stream was down is seen to have finished.
 */
export async function followOperation(client: ApiClient, id: string, opts: FollowOptions = {}): Promise<FollowResult> {
  const deadline = opts.timeoutMs !== undefined ? Date.now() + opts.timeoutMs : Infinity;
  const giveUpAfter = opts.unreachableAfterMs ?? 60_000;
  const timeout = new AbortController();
  const timer = Number.isFinite(deadline) ? setTimeout(() => timeout.abort(), Math.max(0, deadline - Date.now())) : null;
  let lastEventId: string | null = null;
  let latest: Operation | null = null;
  let attempt = 0;
  let failingSince: number | null = null;

  const read = async (quiet = false): Promise<Operation> => {
    const op = (await client.request<Operation>('GET', `/v1/operations/${encodeURIComponent(id)}`, { signal: timeout.signal })).body;
    latest = op;
    if (!quiet) opts.onSnapshot?.(op);
    return op;
  };

  // At the deadline: one quick look at where the operation stands, if the API answers at once.
  const lastLook = async (): Promise<Operation | null> => {
    try {
      return (await client.request<Operation>('GET', `/v1/operations/${encodeURIComponent(id)}`, { signal: AbortSignal.timeout(2000) })).body;
    } catch {
      return latest;
    }
  };

  try {
    // The stream replays the history from the start, so the first look only checks it is not over already.
    const first = await read(true);
    if (isTerminal(first.status)) {
      opts.onSnapshot?.(first);
      return { outcome: 'finished', operation: first };
    }
    for (;;) {
      let ended = false;
      let reason = 'the stream ended early';
      try {
        const res = await client.openStream(`/v1/operations/${encodeURIComponent(id)}/events`, { lastEventId, signal: timeout.signal });
        for await (const event of readEvents(res)) {
          if (event.id) lastEventId = event.id;
          attempt = 0;
          failingSince = null;
          opts.onEvent?.(event);
          if (event.kind === 'state' && isTerminal(event.data.to)) ended = true;
        }
      } catch (err) {
        if (timeout.signal.aborted) return { outcome: 'timeout', operation: await lastLook() };
        if (!transient(err)) throw err;
        reason = (err as Error).message;
      }
      // Finished, or the stream broke: the record says where the operation stands.
      try {
        const op = await read();
        if (isTerminal(op.status)) return { outcome: 'finished', operation: op };
        if (ended) continue; // the final event was seen but the record lags: read again next round
      } catch (err) {
        if (timeout.signal.aborted) return { outcome: 'timeout', operation: await lastLook() };
        if (!transient(err)) throw err;
        reason = (err as Error).message;
      }
      failingSince ??= Date.now();
      if (Date.now() - failingSince > giveUpAfter) {
        throw new CliError(`lost the connection to ${client.url} for more than ${Math.round(giveUpAfter / 1000)}s (${reason}); the operation goes on: pe ops wait ${id}`, ExitCode.API_ERROR);
      }
      const delayMs = backoffMs(attempt++);
      opts.onReconnect?.({ attempt, delayMs, lastEventId, reason });
      await sleep(delayMs, timeout.signal);
      if (timeout.signal.aborted) return { outcome: 'timeout', operation: await lastLook() };
    }
  } catch (err) {
    if (timeout.signal.aborted) return { outcome: 'timeout', operation: await lastLook() };
    throw err;
  } finally {
    if (timer) clearTimeout(timer);
  }
}
