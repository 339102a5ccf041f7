import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { OPERATION_TYPES, type Operation as OperationRecord, type OperationActions, type OperationStatus } from '../../core/operations/model.js';
import { api, apiPage, query } from '../api.js';
import { ErrorNote, PROVIDERS, STATUSES, StatusBadge, TERMINAL, duration, when } from '../components.js';
import { FilterSelect, SearchField } from '../components/filters.js';
import { ListTable } from '../components/table.js';
import { hashQuery, setHashQuery } from '../hashquery.js';
import { openStream } from '../sse.js';
import { useWorkspaces } from '../workspaces.js';

/** An operation as the API serves it, with what may be done with it now. */
export type Operation = OperationRecord & { actions?: OperationActions };

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
          if (e.kind === 'state' && e.to) return list?.map((o) => (o.id === id ? { ...o, status: e.to as OperationStatus, updated_at: e.at } : o)) ?? list;
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
        <FilterSelect label="Status" name="status" value={status} options={STATUSES} onChange={setStatus} />
        <FilterSelect label="Type" name="type" value={type} options={OPERATION_TYPES} onChange={setType} />
        <FilterSelect label="Workspace" name="workspace" value={workspace} options={workspaces} onChange={setWorkspace} />
        <FilterSelect label="Provider" name="provider" value={provider} options={PROVIDERS} onChange={setProvider} />
        <SearchField label="Search id or hostname" placeholder="id or hostname" value={search} onInput={setSearch} />
      </form>
      <ErrorNote error={error} />
      <ListTable
        rows={shown}
        testId="operations"
        columns={['Operation', 'Status', 'Type', 'Hostname', 'Workspace', 'Provider', 'Created', 'Took']}
        empty={
          <p class="muted">
            No operation matches.{' '}
            {/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(search.trim()) ? <a href={`#/operations/${search.trim()}`}>Open operation {search.trim()}</a> : null}
          </p>
        }
        row={(op) => (
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
        )}
      />
      {next ? (
        <button type="button" class="secondary outline" onClick={more}>
          Show older operations
        </button>
      ) : null}
    </section>
  );
}
