import type { ApiClient } from './client.js';
import { CliError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { backoffMs, isTerminal, sleep, transient } from './follow.js';
import { readEvents, StreamDropped, type StreamEvent } from './sse.js';
import type { Workflow, WorkflowStep } from './types.js';

/** How long the stream may stay silent before the workflow is looked at anyway. */
const QUIET_MS = 5000;

/** How far a step has come; what it shows only ever moves forward. */
const RANK: Record<string, number> = { waiting: 0, pending: 1, running: 2, completed: 3, failed: 3, cancelled: 3, skipped: 3 };

export interface StepChange {
  step: WorkflowStep;
  /** Set for a status change; absent for a progress message. */
  from?: string;
  to?: string;
  message?: string;
}

export interface WorkflowFollowOptions {
  timeoutMs?: number;
  onStep: (change: StepChange) => void;
  onWorkflow: (status: string, message?: string) => void;
  onReconnect?: (reason: string, delayMs: number) => void;
  /** Events of a stream opened (and being read) before the submit, so that the first steps' events are not missed. */
  events?: AsyncGenerator<StreamEvent>;
}

export type WorkflowFollowResult = { outcome: 'finished' | 'timeout'; workflow: Workflow | null };

/**
 * Follows a workflow and every step of it live. Events come from `GET /v1/events` of the
 * workflow's workspace; which operation is which step is read from `GET /v1/workflows/{id}`
 * (again whenever an operation it does not know yet appears, and every few seconds while
 * nothing arrives, so a missed event is caught up by the snapshot). A dropped stream is resumed
 * with Last-Event-ID.
 */
export async function followWorkflow(client: ApiClient, id: string, workspace: string, opts: WorkflowFollowOptions): Promise<WorkflowFollowResult> {
  const deadline = opts.timeoutMs !== undefined ? Date.now() + opts.timeoutMs : Infinity;
  const stop = new AbortController();
  const timer = Number.isFinite(deadline) ? setTimeout(() => stop.abort(), Math.max(0, deadline - Date.now())) : null;
  const shown = new Map<string, string>(); // step id → status shown
  const stepOf = new Map<string, WorkflowStep>(); // operation id → step
  let workflow: Workflow | null = null;
  let workflowStatus = '';
  let lastEventId: string | null = null;

  const apply = (wf: Workflow) => {
    workflow = wf;
    moveWorkflow(wf.status);
    for (const step of [...wf.steps, ...(wf.rollback ?? [])]) {
      if (step.operation_id) stepOf.set(step.operation_id, step);
      show(step, step.status);
    }
  };
  const moveWorkflow = (to: string) => {
    if (workflowStatus && (RANK[to] ?? 0) <= (RANK[workflowStatus] ?? 0)) return;
    workflowStatus = to;
    opts.onWorkflow(to);
  };
  const show = (step: WorkflowStep, to: string) => {
    const from = shown.get(step.id);
    if (from !== undefined && (RANK[to] ?? 0) <= (RANK[from] ?? 0)) return;
    shown.set(step.id, to);
    step.status = to;
    opts.onStep({ step, from: from ?? undefined, to });
  };
  const snapshot = async () => {
    const wf = (await client.get<Workflow>(`/v1/workflows/${encodeURIComponent(id)}`)).body;
    apply(wf);
    return wf;
  };

  const handle = async (event: StreamEvent): Promise<boolean> => {
    const e = event.data;
    if (!e.operation_id) return false;
    if (e.operation_id === id) {
      if (event.kind === 'state' && e.to) {
        if (isTerminal(e.to)) {
          await snapshot();
          return true;
        }
        moveWorkflow(e.to);
      }
      return false;
    }
    let step = stepOf.get(e.operation_id);
    if (!step && e.operation_type && !e.operation_type.startsWith('workflow.')) {
      // An operation not seen before: perhaps a step that just started.
      await snapshot();
      step = stepOf.get(e.operation_id);
    }
    if (!step) return false;
    if (event.kind === 'state' && e.to) {
      // A step that failed: the snapshot carries its error, to be shown with it.
      if (e.to === 'failed') await snapshot();
      show(step, e.to);
    }
    else if (event.kind === 'progress' && e.message) opts.onStep({ step, message: e.message });
    else if (event.kind === 'cancel_requested') opts.onStep({ step, message: 'cancel requested' });
    return false;
  };

  let attempt = 0;
  let pending = opts.events ?? null;
  try {
    let failingSince: number | null = null;
    for (;;) {
      try {
        if (isTerminal((await snapshot()).status)) return { outcome: 'finished', workflow };
        failingSince = null;
        const events: AsyncGenerator<StreamEvent> = pending ?? readEvents(await client.openStream('/v1/events', { query: { workspace }, lastEventId, signal: stop.signal }));
        pending = null;
        try {
          let next = events.next();
          for (;;) {
            // Nothing for a while: look at the snapshot anyway (a missed event shows there), and read on.
            let timer: NodeJS.Timeout | undefined;
            const quiet = new Promise<'quiet'>((resolve) => (timer = setTimeout(() => resolve('quiet'), QUIET_MS)));
            const got = await Promise.race([next, quiet]);
            clearTimeout(timer);
            if (got === 'quiet') {
              if (isTerminal((await snapshot()).status)) return { outcome: 'finished', workflow };
              continue;
            }
            if (got.done) throw new StreamDropped('the stream ended');
            next = events.next();
            if (got.value.id) lastEventId = got.value.id;
            attempt = 0;
            if (await handle(got.value)) return { outcome: 'finished', workflow };
          }
        } finally {
          void events.return(undefined);
        }
      } catch (err) {
        if (stop.signal.aborted) return { outcome: 'timeout', workflow };
        if (!transient(err)) throw err;
        failingSince ??= Date.now();
        if (Date.now() - failingSince > 60_000) throw err;
        const delay = backoffMs(attempt++);
        opts.onReconnect?.((err as Error).message, delay);
        await sleep(delay, stop.signal);
      }
      if (stop.signal.aborted) return { outcome: 'timeout', workflow };
    }
  } catch (err) {
    if (stop.signal.aborted) return { outcome: 'timeout', workflow };
    if (transient(err)) throw new CliError(`lost the connection to ${client.url} (${(err as Error).message}); the workflow goes on: pe workflows get ${id}`, ExitCode.API_ERROR);
    throw err;
  } finally {
    if (timer) clearTimeout(timer);
    stop.abort();
  }
}
