/**
 * How this engine instance stops when an operator asks over the API (POST /shutdown, POST
 * /emergency-stop). The API entry point gives the real one (see api/instance-control.ts: it asks
 * the start command to stop the whole tree, or stops the API process itself); an API started
 * inside another program (a test) gives one that only records what it was asked.
 */
export interface ShutdownRequest {
  delaySeconds: number;
  reason: string;
  requestedBy: string;
  traceId: string;
}

export interface ScheduledShutdown {
  /** When the stop begins: the API then refuses new work and the instance stops gracefully. */
  at: Date;
  reason: string;
}

export interface InstanceControl {
  /**
   * Schedules the graceful stop `delaySeconds` from now. Asked again, the earlier of the two
   * stands (a later one never postpones a stop already promised). Returns the schedule in force.
   */
  shutdown(request: ShutdownRequest): ScheduledShutdown;
  /** Stops the instance at once, without letting work in hand finish (it is taken over elsewhere). */
  emergencyStop(request: { requestedBy: string; traceId: string }): void;
  /** Set once the scheduled stop has begun: new work is refused and readiness says not ready. */
  draining(): ScheduledShutdown | null;
}

/** Records the requests and stops nothing: for an API that is part of another program. */
export class RecordingControl implements InstanceControl {
  readonly shutdowns: ShutdownRequest[] = [];
  readonly emergencyStops: Array<{ requestedBy: string; traceId: string }> = [];

  shutdown(request: ShutdownRequest): ScheduledShutdown {
    this.shutdowns.push(request);
    return { at: new Date(Date.now() + request.delaySeconds * 1000), reason: request.reason };
  }

  emergencyStop(request: { requestedBy: string; traceId: string }): void {
    this.emergencyStops.push(request);
  }

  draining(): ScheduledShutdown | null {
    return null;
  }
}
