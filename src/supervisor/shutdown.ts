import type { Redis } from 'ioredis';

/**
 * How a process of the engine (the API, a worker) stops: the first SIGTERM or SIGINT (or the
 * supervisor's IPC channel closing) starts `stop`, which lets the work in hand finish; when
 * it resolves the process exits 0. It has until the deadline (SHUTDOWN_TIMEOUT_MS): once that
 * passes, or on a second SIGTERM or SIGINT ("now"), the process gives back what it still holds
 * (`handBack`: a worker's jobs go back to waiting, their operations to `pending`), says what it
 * cut short and exits 1. Exiting is what closes at once: whatever was still running is cut short
 * exactly as by a crash, which the jobs are made to survive (they resume from their markers in
 * the next worker; one that could not be given back is taken over once its lock expires).
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
  /**
   * At the deadline or on a second signal, before exiting: gives the work still in hand back
   * (a worker's jobs, pending again for another worker once this process is gone) and says what it did. Given at
   * most HAND_BACK_MS; past that, should it fail, or when it says nothing, `cutShort` speaks.
   */
  handBack?: () => Promise<string | undefined>;
}

/** What a hand-back may take: within the start command's margin past the deadline (2 s) before it kills. */
const HAND_BACK_MS = 1500;

export function stopWithin(opts: StopWithinOptions): void {
  let startedAt = 0;
  let done = false;
  const exit = (code: number) => {
    done = true;
    // One turn of the event loop lets the logger's last line reach its stream.
    setImmediate(() => process.exit(code));
  };
  const elapsed = () => Date.now() - startedAt;
  let handingBack = false;
  const now = (why: string) => {
    if (done || handingBack) return;
    const finish = (what: string | undefined) => {
      if (done) return;
      opts.log('warn', `${opts.name} stopped ${why} after ${elapsed()} ms${what ? `: ${what}` : ''}`, { deadline_ms: opts.timeoutMs });
      exit(1);
    };
    if (!opts.handBack) return finish(opts.cutShort?.());
    handingBack = true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), HAND_BACK_MS)));
    Promise.race([opts.handBack(), late]).then(
      (what) => (clearTimeout(timer), finish(what ?? opts.cutShort?.())),
      () => (clearTimeout(timer), finish(opts.cutShort?.())),
    );
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
        // A hand-back under way ends the process itself, saying what it gave back.
        if (done || handingBack) return;
        opts.log('info', `${opts.name} stopped after ${elapsed()} ms${note ? `: ${note}` : ''}`);
        exit(0);
      },
      (err: unknown) => {
        if (done || handingBack) return;
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
