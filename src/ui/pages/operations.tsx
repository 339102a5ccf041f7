import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, apiPage, query } from '../api.js';
import { ErrorNote, PROVIDERS, STATUSES, StatusBadge, TERMINAL, duration, when } from '../components.js';
import { hashQuery, setHashQuery } from '../hashquery.js';
import { openStream } from '../sse.js';
import { useWorkspaces } from '../workspaces.js';

export interface Operation {
  id: string;
  type: string;
  status: string;
  workspace: string;
  provider: string;
  target: Record<string, unknown> | null;
  request: Record<string, unknown>;
  progress: { step: string; message: string; at: string } | null;
  attempt: number;
  result: Record<string, unknown> | null;
  error: { code: string; message: string; retryable: boolean } | null;
  parent_id: string | null;
  requested_by: string;
  cancel_requested_at: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  retry_of?: string | null;
  retried_by?: string | null;
  actions?: { cancel?: boolean; force_cancel?: boolean; retry?: boolean };
}

export const OPERATION_TYPES = ['server.create', 'server.delete', 'server.action', 'server.resize', 'taskserv.create', 'taskserv.delete', 'workflow.cluster_create', 'workflow.cluster_delete', 'workflow.server_batch_create', 'workflow.custom'];

/** The hostname an operation is about, when it names one. */
export function hostnameOf(op: Operation): string {
  const r = op.request ?? {};
  const t = op.target ?? {};
  return String((r as { hostname?: string }).hostname ?? (t as { hostname?: string }).hostname ?? (op.result as { server?: { hostname?: string } } | null)?.server?.hostname ?? '');
}

export function operationHref(op: { id: string; type: string }): string {
  return op.type.startsWith('workflow.') ? `#/workflows/${op.id}` : `#/operations/${op.id}`;
}

export function OperationsPage() {
  const initial = hashQuery();
  const [status, setStatus] = useState(initial.get('status') ?? '');
  const [type, setType] = useState(initial.get('type') ?? '');
  const [workspace, setWorkspace] = useState(initial.get('workspace') ?? '');
  const [provider, setProvider] = useState(initial.get('provider') ?? '');
  const [search, setSearch] = useState(initial.get('q') ?? '');
  const [ops, setOps] = useState<Operation[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const opsRef = useRef(ops);
  opsRef.current = ops;
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState(false);
  const workspaces = useWorkspaces();

  const filters = { status, type, workspace, provider };
  const matches = (op: Operation) => (!status || op.status === status) && (!type || op.type === type) && (!workspace || op.workspace === workspace) && (!provider || op.provider === provider);

  useEffect(() => {
    setHashQuery({ ...filters, q: search });
  }, [status, type, workspace, provider, search]);

  useEffect(() => {
    let cancelled = false;
    setOps(null);
    setNext(null);
    apiPage<Operation>(`/v1/operations${query({ limit: 100, ...filters })}`)
      .then((page) => !cancelled && (setOps(page.items), setNext(page.next), setError(null)))
      .catch((err) => !cancelled && setError(err));
    // Live: every state change and progress note of the caller's workspaces (or the one picked).
    const fetchOne = (id: string) =>
      api<Operation>('GET', `/v1/operations/${id}`)
        .then((op) => {
          if (cancelled) return;
          setOps((list) => {
            const rest = (list ?? []).filter((o) => o.id !== op.id);
            const had = (list ?? []).some((o) => o.id === op.id);
            if (!matches(op)) return rest;
            // Reads overlap: an answer older than the row shown is dropped.
            return had ? (list ?? []).map((o) => (o.id === op.id && o.updated_at <= op.updated_at ? op : o)) : [op, ...rest];
          });
        })
        .catch(() => undefined);
    const stream = openStream(
      `/v1/events${query({ workspace })}`,
      (e) => {
        if (!e.operation_id || (e.kind !== 'state' && e.kind !== 'progress' && e.kind !== 'cancel_requested')) return;
        // The row changes at once; the full record is read for a new operation and a finished one.
        const id = e.operation_id;
        const known = (opsRef.current ?? []).some((o) => o.id === id);
        setOps((list) => {
          if (e.kind === 'progress') return list?.map((o) => (o.id === id ? { ...o, progress: { step: 'progress', message: e.message ?? '', at: e.at }, updated_at: e.at } : o)) ?? list;
          if (e.kind === 'state' && e.to) return list?.map((o) => (o.id === id ? { ...o, status: e.to!, updated_at: e.at } : o)) ?? list;
          return list;
        });
        if (e.kind === 'state' && (!known || TERMINAL.has(e.to ?? '') || e.to === 'running')) void fetchOne(id);
      },
      { onOpen: () => setLive(true), onError: () => setLive(false) },
    );
    return () => {
      cancelled = true;
      stream.close();
    };
  }, [status, type, workspace, provider]);

  const more = async () => {
    try {
      const page = await apiPage<Operation>(`/v1/operations${query({ limit: 100, ...filters, cursor: next })}`);
      setOps((list) => [...(list ?? []), ...page.items.filter((o) => !(list ?? []).some((x) => x.id === o.id))]);
      setNext(page.next);
    } catch (err) {
      setError(err);
    }
  };

  const shown = useMemo(() => {
    const q = search.trim().toLowerCase();
    if (!ops) return null;
    return q ? ops.filter((op) => op.id.toLowerCase().includes(q) || hostnameOf(op).toLowerCase().includes(q)) : ops;
  }, [ops, search]);

  return (
    <section>
      <h1>
        Operations <small class={live ? 'live on' : 'live'} data-testid="live">{live ? '● live' : '○ connecting'}</small>
      </h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()} role="search" aria-label="Filter operations">
        <label>
          Status
          <select name="status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Type
          <select name="type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
            <option value="">any</option>
            {OPERATION_TYPES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Workspace
          <select name="workspace" value={workspace} onChange={(e) => setWorkspace(e.currentTarget.value)}>
            <option value="">any</option>
            {workspaces.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Provider
          <select name="provider" value={provider} onChange={(e) => setProvider(e.currentTarget.value)}>
            <option value="">any</option>
            {PROVIDERS.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label class="search">
          Search id or hostname
          <input type="search" name="q" value={search} onInput={(e) => setSearch(e.currentTarget.value)} placeholder="id or hostname" />
        </label>
      </form>
      <ErrorNote error={error} />
      {shown === null ? (
        <p aria-busy="true">Loading…</p>
      ) : shown.length === 0 ? (
        <p class="muted">
          No operation matches.{' '}
          {/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(search.trim()) ? <a href={`#/operations/${search.trim()}`}>Open operation {search.trim()}</a> : null}
        </p>
      ) : (
        <div class="table-wrap">
          <table data-testid="operations" class="striped">
            <thead>
              <tr>
                <th scope="col">Operation</th>
                <th scope="col">Status</th>
                <th scope="col">Type</th>
                <th scope="col">Hostname</th>
                <th scope="col">Workspace</th>
                <th scope="col">Provider</th>
                <th scope="col">Created</th>
                <th scope="col">Took</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((op) => (
                <tr key={op.id} data-operation={op.id} data-status={op.status}>
                  <th scope="row">
                    <a href={operationHref(op)} class="mono">
                      {op.id.slice(0, 8)}
                    </a>
                  </th>
                  <td>
                    <StatusBadge status={op.status} />
                  </td>
                  <td>{op.type}</td>
                  <td>{hostnameOf(op) || '—'}</td>
                  <td>{op.workspace}</td>
                  <td>{op.provider}</td>
                  <td>{when(op.created_at)}</td>
                  <td>{op.started_at ? duration(op.started_at, op.finished_at) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next ? (
        <button type="button" class="secondary outline" onClick={more}>
          Show older operations
        </button>
      ) : null}
    </section>
  );
}
