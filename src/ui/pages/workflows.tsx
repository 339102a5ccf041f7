import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { ErrorNote, STATUSES, StatusBadge, duration, useDebounced, when } from '../components.js';
import { openStream } from '../sse.js';
import type { Operation } from './operations.js';

export function WorkflowsPage() {
  const [status, setStatus] = useState('');
  const [list, setList] = useState<Operation[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () =>
    api<Operation[]>('GET', `/v1/workflows${query({ limit: 100, status })}`)
      .then((l) => (setList(l), setError(null)))
      .catch(setError);
  const soon = useDebounced(() => void load(), 400);
  useEffect(() => {
    void load();
    const s = openStream('/v1/events?kind=state', (e) => {
      if (e.operation_type?.startsWith('workflow.')) soon();
    });
    return () => s.close();
  }, [status]);
  return (
    <section>
      <h1>Workflows</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter workflows">
        <label>
          Status
          <select name="status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </form>
      <ErrorNote error={error} />
      {list === null ? (
        <p aria-busy="true">Loading…</p>
      ) : list.length === 0 ? (
        <p class="muted">No workflow yet.</p>
      ) : (
        <div class="table-wrap">
          <table data-testid="workflows" class="striped">
            <thead>
              <tr>
                <th scope="col">Workflow</th>
                <th scope="col">Status</th>
                <th scope="col">Type</th>
                <th scope="col">Workspace</th>
                <th scope="col">Created</th>
                <th scope="col">Took</th>
              </tr>
            </thead>
            <tbody>
              {list.map((w) => (
                <tr key={w.id} data-workflow={w.id}>
                  <th scope="row">
                    <a class="mono" href={`#/workflows/${w.id}`}>
                      {w.id.slice(0, 8)}
                    </a>
                  </th>
                  <td>
                    <StatusBadge status={w.status} />
                  </td>
                  <td>{w.type.replace(/^workflow\./, '')}</td>
                  <td>{w.workspace}</td>
                  <td>{when(w.created_at)}</td>
                  <td>{w.started_at ? duration(w.started_at, w.finished_at) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
