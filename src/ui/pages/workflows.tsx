import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { ErrorNote, STATUSES, StatusBadge, duration, useDebounced, when } from '../components.js';
import { FilterSelect } from '../components/filters.js';
import { ListTable } from '../components/table.js';
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
        <FilterSelect label="Status" name="status" value={status} options={STATUSES} onChange={setStatus} />
      </form>
      <ErrorNote error={error} />
      <ListTable
        rows={list}
        testId="workflows"
        columns={['Workflow', 'Status', 'Type', 'Workspace', 'Created', 'Took']}
        empty={<p class="muted">No workflow yet.</p>}
        row={(w) => (
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
        )}
      />
    </section>
  );
}
