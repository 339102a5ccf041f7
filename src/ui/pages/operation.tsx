import { useEffect, useRef, useState } from 'preact/hooks';
import { SUBMIT_PERMISSION } from '../../core/auth/permissions.js';
import { api } from '../api.js';
import { ConfirmButton, ErrorNote, Json, StatusBadge, TERMINAL, duration, when } from '../components.js';
import { useSession } from '../session.js';
import { openStream, type EngineEvent } from '../sse.js';
import { hostnameOf, operationHref, type Operation } from './operations.js';

interface LogEntry {
  index: number;
  at: string;
  source: string;
  stream: string;
  line: string;
}

/** The permission a retry needs: the one the original request needed. */
export function submitPermission(type: string): string {
  if (type.startsWith('workflow.')) return 'workflow_submit';
  return (SUBMIT_PERMISSION as Record<string, string>)[type] ?? 'server_create';
}

/** What may be done to the operation now: the record's own `actions` when it has them, else read from its status. */
export function allowedActions(op: Operation): { cancel: boolean; force_cancel: boolean; retry: boolean } {
  if (op.actions) return { cancel: !!op.actions.cancel, force_cancel: !!op.actions.force_cancel, retry: !!op.actions.retry };
  const open = op.status === 'pending' || op.status === 'running';
  return {
    cancel: open && !op.cancel_requested_at,
    force_cancel: op.status === 'running' && !!op.cancel_requested_at,
    retry: (op.status === 'failed' || op.status === 'cancelled') && !op.parent_id && !op.retried_by,
  };
}

export function OperationPage({ id }: { id: string }) {
  const session = useSession();
  const [op, setOp] = useState<Operation | null>(null);
  const opRef = useRef(op);
  opRef.current = op;
  const [error, setError] = useState<unknown>(null);
  const [events, setEvents] = useState<EngineEvent[]>([]);
  const [logs, setLogs] = useState<LogEntry[]>([]);
  const [notice, setNotice] = useState<{ text: string; href?: string } | null>(null);
  const nextLog = useRef(0);
  const loadingLogs = useRef(false);

  const loadOp = async () => {
    try {
      const o = await api<Operation>('GET', `/v1/operations/${id}`);
      // Reads overlap: an answer older than the one shown is dropped.
      setOp((shown) => (shown && shown.id === o.id && shown.updated_at > o.updated_at ? shown : o));
      setError(null);
      return o;
    } catch (err) {
      setError(err);
      return null;
    }
  };
  const loadLogs = async () => {
    if (loadingLogs.current) return;
    loadingLogs.current = true;
    try {
      const page = await api<{ entries: LogEntry[]; next: number }>('GET', `/v1/operations/${id}/logs?from=${nextLog.current}`);
      if (page.entries.length > 0) {
        nextLog.current = page.next;
        setLogs((l) => [...l, ...page.entries]);
      }
    } catch {
      /* the log is a nicety; the record says what matters */
    } finally {
      loadingLogs.current = false;
    }
  };

  useEffect(() => {
    setOp(null);
    setEvents([]);
    setLogs([]);
    setNotice(null);
    nextLog.current = 0;
    void loadOp();
    void loadLogs();
    // The operation's own stream: its history, then live until it finishes.
    const stream = openStream(
      `/v1/operations/${id}/events`,
      (e) => {
        setEvents((list) => (list.some((x) => x.id === e.id) ? list : [...list, e]));
        void loadOp();
        void loadLogs();
      },
      { endsWith: (e) => e.kind === 'state' && TERMINAL.has(e.to ?? '') },
    );
    // Task services print lines without an event each: follow the log while the operation runs,
    // and the record too (what may be done changes with time: a force cancel after its grace).
    const timer = setInterval(() => {
      if (opRef.current && TERMINAL.has(opRef.current.status)) return;
      void loadOp();
      void loadLogs();
    }, 2000);
    return () => {
      stream.close();
      clearInterval(timer);
    };
  }, [id]);

  useEffect(() => {
    if (op && TERMINAL.has(op.status)) void loadLogs();
  }, [op?.status]);

  if (!op) return <section aria-busy={!error}>{error ? <ErrorNote error={error} /> : 'Loading…'}</section>;
  const actions = allowedActions(op);
  const canCancel = session.can('operation_cancel', op.workspace);
  const canRetry = session.can(submitPermission(op.type), op.workspace);
  const after = (verb: string) => (res: unknown) => {
    const next = res as Operation | undefined;
    if (next && next.id && next.id !== op.id) setNotice({ text: `${verb}: new operation ${next.id}`, href: operationHref(next) });
    else setNotice({ text: verb });
    void loadOp();
  };
  const hostname = hostnameOf(op);

  return (
    <section>
      <nav aria-label="breadcrumb">
        <ul>
          <li>
            <a href="#/operations">Operations</a>
          </li>
          <li>{op.id}</li>
        </ul>
      </nav>
      <h1>
        {op.type} {hostname ? <span class="muted">{hostname}</span> : null}
      </h1>
      <p class="op-status" data-testid="op-status">
        <StatusBadge status={op.status} /> {op.cancel_requested_at ? <span class="warn">cancel requested {when(op.cancel_requested_at)}</span> : null}
      </p>
      {op.progress ? (
        <p data-testid="progress">
          <strong>{op.progress.step}</strong>: {op.progress.message}
        </p>
      ) : null}
      {!TERMINAL.has(op.status) ? <progress aria-label="in progress" /> : null}
      <div class="actions">
        {actions.cancel && canCancel ? (
          <ConfirmButton label="Cancel" title="Cancel this operation?" confirmLabel="Cancel operation" danger testId="cancel" action={() => api('POST', `/v1/operations/${op.id}/cancel`)} onDone={after('Cancel requested')}>
            <p>
              {op.status === 'running'
                ? 'The worker stops its provider calls and removes what it has made so far (a half-made server is deleted). The operation ends cancelled.'
                : 'It has not started: it ends cancelled at once and nothing is sent to the provider.'}
            </p>
          </ConfirmButton>
        ) : null}
        {actions.force_cancel && canCancel ? (
          <ConfirmButton label="Force cancel" title="Force-cancel this operation?" confirmLabel="Force cancel" danger testId="force-cancel" action={() => api('POST', `/v1/operations/${op.id}/cancel`, { force: true })} onDone={after('Force cancel requested')}>
            <p>It ends cancelled without waiting for the cleanup to finish. What the provider already made may be left behind: check the inventory afterwards.</p>
          </ConfirmButton>
        ) : null}
        {actions.retry && canRetry ? (
          <ConfirmButton label="Retry" title="Retry this operation?" confirmLabel="Retry" testId="retry" action={() => api('POST', `/v1/operations/${op.id}/retry`)} onDone={after('Retried')}>
            <p>A new operation with the same request is accepted; this one stays as it ended.</p>
          </ConfirmButton>
        ) : null}
      </div>
      {notice ? (
        <p role="status" class="notice">
          {notice.text} {notice.href ? <a href={notice.href}>open it</a> : null}
        </p>
      ) : null}
      <ErrorNote error={error} />

      <div class="grid-2">
        <article>
          <header>
            <h2>Details</h2>
          </header>
          <dl class="facts">
            <dt>Id</dt>
            <dd class="mono">{op.id}</dd>
            <dt>Workspace</dt>
            <dd>{op.workspace}</dd>
            <dt>Provider</dt>
            <dd>{op.provider}</dd>
            <dt>Requested by</dt>
            <dd>{op.requested_by}</dd>
            <dt>Created</dt>
            <dd>{when(op.created_at)}</dd>
            <dt>Started</dt>
            <dd>{when(op.started_at)}</dd>
            <dt>Finished</dt>
            <dd>{when(op.finished_at)}</dd>
            <dt>Took</dt>
            <dd>{op.started_at ? duration(op.started_at, op.finished_at) : '—'}</dd>
            <dt>Attempt</dt>
            <dd>{op.attempt}</dd>
            {op.parent_id ? (
              <>
                <dt>Workflow</dt>
                <dd>
                  <a href={`#/workflows/${op.parent_id}`} data-testid="parent-link">
                    {op.parent_id}
                  </a>
                </dd>
              </>
            ) : null}
            {op.retried_by ? (
              <>
                <dt>Retried by</dt>
                <dd>
                  <a href={`#/operations/${op.retried_by}`}>{op.retried_by}</a>
                </dd>
              </>
            ) : null}
            {op.retry_of ? (
              <>
                <dt>Retry of</dt>
                <dd>
                  <a href={`#/operations/${op.retry_of}`}>{op.retry_of}</a>
                </dd>
              </>
            ) : null}
          </dl>
        </article>
        <article>
          <header>
            <h2>Timeline</h2>
          </header>
          <ol class="timeline" data-testid="timeline">
            {events.map((e) => (
              <li key={e.id} class={`ev-${e.kind}`}>
                <time dateTime={e.at}>{new Date(e.at).toLocaleTimeString()}</time>{' '}
                {e.kind === 'state' ? (
                  <>
                    {e.from ? `${e.from} → ` : 'accepted: '}
                    <StatusBadge status={e.to ?? ''} />
                  </>
                ) : (
                  <span>{e.message ?? e.kind}</span>
                )}
              </li>
            ))}
          </ol>
        </article>
      </div>

      {op.error ? (
        <article class="error-box" data-testid="op-error">
          <header>
            <h2>Error</h2>
          </header>
          <p>
            <code>{op.error.code}</code> {op.error.message} {op.error.retryable ? '(retryable)' : ''}
          </p>
        </article>
      ) : null}

      <article>
        <header>
          <h2>Log</h2>
        </header>
        <pre class="log" data-testid="log" tabIndex={0} aria-label="Operation log" aria-live="polite">
          {logs.length === 0 ? 'no lines yet' : logs.map((l) => `${new Date(l.at).toLocaleTimeString()} ${l.source !== 'engine' ? `[${l.source}] ` : ''}${l.line}`).join('\n')}
        </pre>
      </article>

      <div class="grid-2">
        <article>
          <header>
            <h2>Request</h2>
          </header>
          <Json value={op.request} label="Request" />
        </article>
        <article>
          <header>
            <h2>Result</h2>
          </header>
          <Json value={op.result} label="Result" />
          {op.result && typeof (op.result as { server_id?: unknown }).server_id === 'string' ? (
            <p>
              <a href={`#/servers?q=${encodeURIComponent(String((op.result as { server_id: string }).server_id))}`}>Server {String((op.result as { server_id: string }).server_id)} in the inventory</a>
            </p>
          ) : null}
        </article>
      </div>
    </section>
  );
}
