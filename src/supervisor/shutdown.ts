import type { Redis } from 'ioredis';

/**
 * How a process of the engine (the API, a worker) stops: the first SIGTERM or SIGINT (or the
 * supervisor's IPC channel closing) starts `stop`, which lets the work in hand finish; when
 * it resolves the process exits 0. It has until the deadline (SHUTDOWN_TIMEOUT_MS): once that
 * passes, or on a second SIGTERM or SIGINT ("now"), the process says what it cut short and
 * exits 1 at once. Exiting is what closes at once: whatever was still running is cut short
 * exactly as by a crash, which the jobs are made to survive (their locks expire and BullMQ's
 * stalled-job recovery hands them to another worker, which resumes from their markers).
 */
export interface StopWithinOptions {
  /** The process's name in the log lines ("worker-1", "api"). */
  name: string;
  timeoutMs: number;
  log: (level: 'info' | 'warn', message: string, meta?: Record<string, unknown>) => void;
  /**
   * Lets the work in hand finish and closes what is open. May resolve with a note for the
   * final line (e.g. that Redis was unreachable, so its connections were dropped).
   */
  stop: () => Promise<string | void>;
  /** At the deadline or on a second signal, just before exiting: what is cut short. */
  cutShort?: () => string;
}

export function stopWithin(opts: StopWithinOptions): void {
  let startedAt = 0;
  let done = false;
  const exit = (code: number) => {
    done = true;
    // One turn of the event loop lets the logger's last line reach its stream.
    setImmediate(() => process.exit(code));
  };
  const elapsed = () => Date.now() - startedAt;
  const now = (why: string) => {
    if (done) return;
    const what = opts.cutShort?.();
    opts.log('warn', `${opts.name} stopped ${why} after ${elapsed()} ms${what ? `: ${what}` : ''}`, { deadline_ms: opts.timeoutMs });
    exit(1);
  };
  const begin = (why: NodeJS.Signals | 'disconnect') => {
    if (startedAt !== 0) {
      // The supervisor's channel closing while we stop changes nothing: the deadline stands.
      if (why !== 'disconnect') now(`at once on a second ${why}`);
      return;
    }
    startedAt = Date.now();
    setTimeout(() => now(`at its deadline (SHUTDOWN_TIMEOUT_MS=${opts.timeoutMs})`), opts.timeoutMs);
    opts.stop().then(
      (note) => {
        if (done) return;
        opts.log('info', `${opts.name} stopped after ${elapsed()} ms${note ? `: ${note}` : ''}`);
        exit(0);
      },
      (err: unknown) => {
        if (done) return;
        process.stderr.write(`${opts.name}: shutdown failed: ${(err as Error).stack ?? String(err)}\n`);
        exit(1);
      },
    );
  };
  process.on('SIGINT', () => begin('SIGINT'));
  process.on('SIGTERM', () => begin('SIGTERM'));
  // Started by the supervisor with an IPC channel: its closing means the supervisor is gone.
  process.on('disconnect', () => begin('disconnect'));
}

/** A promise's outcome, readable at any time: `done` once it settled, `error` if it rejected. */
export interface Settled {
  done: boolean;
  error?: unknown;
}

export function settled(p: Promise<unknown>): Settled {
  const s: Settled = { done: false };
  p.then(
    () => (s.done = true),
    (error: unknown) => Object.assign(s, { done: true, error }),
  );
  return s;
}

/** Whether an ioredis connection has lost its server and is trying to reach it again. */
export function lostRedis(conn: Redis): boolean {
  return conn.status === 'connecting' || conn.status === 'reconnecting';
}

/**
 * Polls `done` until it returns true; resolves early (with false) as soon as one of `conns`
 * has lost Redis, since whatever is waited for then waits on a Redis that does not answer.
 */
export async function untilUnlessRedisLost(done: () => boolean, conns: Redis[], pollMs = 50): Promise<boolean> {
  for (;;) {
    if (done()) return true;
    if (conns.some(lostRedis)) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** QUIT where Redis answers; where it does not, drop the connection (a QUIT would wait for it forever). */
export async function closeRedis(conn: Redis): Promise<void> {
  if (conn.status === 'end') return;
  if (conn.status !== 'ready') {
    conn.disconnect();
    return;
  }
  await conn.quit().catch(() => undefined);
}
