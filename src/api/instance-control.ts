import type { InstanceControl, ScheduledShutdown, ShutdownRequest } from '../core/control/instance-control.js';
import { STOP_GRACEFULLY, STOP_NOW, type StopMessage } from '../core/control/supervisor-messages.js';
import type { Logger } from '../core/logger.js';

/** How the API process stops: through the start command when there is one, else by itself. */
export interface OwnStops {
  /** Asks the start command to stop the instance; false when there is none (the API runs on its own). */
  askSupervisor(message: StopMessage): boolean;
  /** The same graceful stop as a SIGTERM: answer the requests in hand, close, exit. */
  graceful(): void;
  /** Exit now. */
  now(): void;
}

const OWN_PROCESS: OwnStops = {
  askSupervisor: (message) => {
    if (typeof process.send !== 'function' || !process.connected) return false;
    process.send(message);
    return true;
  },
  graceful: () => void process.kill(process.pid, 'SIGTERM'),
  now: () => process.exit(0),
};

/** Time for the answer to the request that stops the instance to leave before anything stops. */
const ANSWER_MS = 100;

/**
 * The instance as the API process sees it. Under the start command (an IPC channel to it) a
 * stop is asked of the start command, which stops the API, the workers, the sandbox and the
 * managed Redis in order and restarts none of them; on its own the API stops itself.
 */
export class ProcessInstanceControl implements InstanceControl {
  private scheduled: ScheduledShutdown | null = null;
  private begun: ScheduledShutdown | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly own: OwnStops = OWN_PROCESS,
  ) {}

  shutdown(request: ShutdownRequest): ScheduledShutdown {
    if (this.begun) return this.begun;
    const at = new Date(Date.now() + request.delaySeconds * 1000);
    if (this.scheduled && this.scheduled.at <= at) return this.scheduled;
    clearTimeout(this.timer);
    this.scheduled = { at, reason: request.reason };
    this.logger.warn('shutdown scheduled', { delay_seconds: request.delaySeconds, reason: request.reason, requested_by: request.requestedBy, trace_id: request.traceId, at: at.toISOString() });
    // Unref'd: the HTTP server keeps the process alive until then, and nothing else should.
    this.timer = setTimeout(() => this.begin(), Math.max(ANSWER_MS, at.getTime() - Date.now()));
    this.timer.unref();
    return this.scheduled;
  }

  emergencyStop(request: { requestedBy: string; traceId: string }): void {
    this.logger.error('emergency stop: stopping at once; work in hand is taken over by other workers once its locks expire', { requested_by: request.requestedBy, trace_id: request.traceId });
    setTimeout(() => {
      if (!this.own.askSupervisor({ type: STOP_NOW })) this.own.now();
    }, ANSWER_MS);
  }

  draining(): ScheduledShutdown | null {
    return this.begun;
  }

  private begin(): void {
    this.begun = this.scheduled;
    this.logger.warn('shutting down: new work is refused, running operations finish or are handed back', { reason: this.begun?.reason });
    if (!this.own.askSupervisor({ type: STOP_GRACEFULLY, reason: this.begun?.reason })) this.own.graceful();
  }
}
