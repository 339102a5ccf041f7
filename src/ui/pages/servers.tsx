import { useEffect, useMemo, useState } from 'preact/hooks';
import type { CatalogPlan } from '../../common/provider.js';
import { api, query } from '../api.js';
import { ConfirmButton, ErrorNote, PROVIDERS, StatusBadge, useDebounced } from '../components.js';
import { FilterSelect, SearchField } from '../components/filters.js';
import { ListTable } from '../components/table.js';
import { hashQuery } from '../hashquery.js';
import { useSession } from '../session.js';
import { openStream } from '../sse.js';
import { useWorkspaces } from '../workspaces.js';

interface Server {
  id: string;
  hostname: string;
  provider: string;
  provider_id: string;
  plan: string;
  zone: string;
  ip_address: string | null;
  status: string;
  provider_status: string | null;
  workspace: string;
  operation_id?: string;
}

type Plan = CatalogPlan;

function money(plan: Plan | undefined): string {
  if (!plan) return '—';
  return `${plan.price_monthly.toFixed(2)} ${plan.currency}/mo`;
}

function memory(mb: number): string {
  return mb >= 1024 ? `${+(mb / 1024).toFixed(1)} GB` : `${mb} MB`;
}

type Accepted = { id: string; type: string };

function ResizeButton({ server, plans, onAccepted }: { server: Server; plans: Plan[]; onAccepted: (op: Accepted) => void }) {
  // Plans of its provider offered in its zone; never a smaller disk (providers refuse to shrink one), bigger sizes first offered.
  const current = plans.find((p) => p.provider === server.provider && p.id === server.plan);
  const notBigger = (p: Plan) => current !== undefined && p.vcpus <= current.vcpus && p.memory_mb <= current.memory_mb;
  const choices = plans
    .filter((p) => p.provider === server.provider && p.id !== server.plan && (p.regions.length === 0 || p.regions.includes(server.zone)))
    .filter((p) => !current || p.disk_gb >= current.disk_gb)
    .sort((a, b) => Number(notBigger(a)) - Number(notBigger(b)) || a.price_monthly - b.price_monthly);
  const [picked, setPlan] = useState('');
  // The plans arrive after the first render: until one is picked, the first offered.
  const plan = choices.some((p) => p.id === picked) ? picked : (choices[0]?.id ?? '');
  if (choices.length === 0) return null;
  return (
    <ConfirmButton label="Resize" title={`Resize ${server.hostname}?`} confirmLabel="Resize" testId={`resize-${server.id}`} action={() => api('PATCH', `/v1/servers/${server.id}`, { plan })} onDone={(op) => onAccepted(op as Accepted)}>
      <label>
        New plan
        <select value={plan} onChange={(e) => setPlan(e.currentTarget.value)}>
          {choices.map((p) => (
            <option key={p.id} value={p.id}>
              {p.id}: {p.vcpus} vCPU, {memory(p.memory_mb)}, {money(p)}
            </option>
          ))}
        </select>
      </label>
      <p>The provider may power the server off and on again to resize it.</p>
    </ConfirmButton>
  );
}

/** The cheapest plan of each provider for each size (vCPUs and memory), side by side. */
function CatalogueComparison({ plans }: { plans: Plan[] }) {
  const providers = PROVIDERS.filter((p) => plans.some((x) => x.provider === p));
  const sizes = new Map<string, { vcpus: number; memory_mb: number; by: Map<string, Plan> }>();
  for (const p of plans) {
    const key = `${p.vcpus}/${p.memory_mb}`;
    const size = sizes.get(key) ?? { vcpus: p.vcpus, memory_mb: p.memory_mb, by: new Map() };
    const held = size.by.get(p.provider);
    if (!held || p.price_monthly < held.price_monthly) size.by.set(p.provider, p);
    sizes.set(key, size);
  }
  const rows = [...sizes.values()].filter((s) => s.by.size > 1 || sizes.size < 30).sort((a, b) => a.vcpus - b.vcpus || a.memory_mb - b.memory_mb);
  return (
    <div class="table-wrap">
      <table data-testid="catalogue">
        <thead>
          <tr>
            <th scope="col">Size</th>
            {providers.map((p) => (
              <th key={p} scope="col">
                {p}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((s) => {
            // Prices are compared within one currency only.
            const cheapestIn = (currency: string) => {
              const same = [...s.by.values()].filter((p) => p.currency === currency);
              return same.length > 1 ? Math.min(...same.map((p) => p.price_monthly)) : null;
            };
            return (
              <tr key={`${s.vcpus}/${s.memory_mb}`}>
                <th scope="row">
                  {s.vcpus} vCPU, {memory(s.memory_mb)}
                </th>
                {providers.map((p) => {
                  const plan = s.by.get(p);
                  return (
                    <td key={p} class={plan && plan.price_monthly === cheapestIn(plan.currency) ? 'cheapest' : ''}>
                      {plan ? (
                        <>
                          {money(plan)}
                          <br />
                          <small class="muted">{plan.id}</small>
                        </>
                      ) : (
                        '—'
                      )}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function ServersPage() {
  const session = useSession();
  const workspaces = useWorkspaces();
  const [workspace, setWorkspace] = useState('');
  const [provider, setProvider] = useState('');
  const [search, setSearch] = useState(hashQuery().get('q') ?? '');
  const [servers, setServers] = useState<Server[] | null>(null);
  const [plans, setPlans] = useState<Plan[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [accepted, setAccepted] = useState<Array<{ server: string; verb: string; op: Accepted }>>([]);
  const load = () =>
    api<Server[]>('GET', `/v1/servers${query({ limit: 200, workspace, provider })}`)
      .then((s) => (setServers(s), setError(null)))
      .catch(setError);
  const soon = useDebounced(() => void load(), 500);
  useEffect(() => {
    void load();
    const s = openStream(`/v1/events${query({ workspace })}`, (e) => {
      if ((e.kind === 'state' && e.to !== 'pending' && e.to !== 'running') || e.kind === 'drift') soon();
    });
    return () => s.close();
  }, [workspace, provider]);
  useEffect(() => {
    if (!session.can('catalog_read')) return;
    api<{ plans: Plan[] }>('GET', '/v1/catalog/plans')
      .then((c) => setPlans(c.plans))
      .catch(() => undefined);
  }, []);
  const planOf = useMemo(() => new Map(plans.map((p) => [`${p.provider}/${p.id}`, p])), [plans]);
  const shown = (servers ?? []).filter((s) => {
    const q = search.trim().toLowerCase();
    return !q || s.id.toLowerCase().includes(q) || s.hostname.toLowerCase().includes(q) || (s.ip_address ?? '').includes(q);
  });
  const note = (server: Server, verb: string) => (op: unknown) => setAccepted((a) => [{ server: server.hostname, verb, op: op as Accepted }, ...a].slice(0, 5));

  return (
    <section>
      <h1>Servers</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()} role="search" aria-label="Filter servers">
        <FilterSelect label="Workspace" name="workspace" value={workspace} options={workspaces} onChange={setWorkspace} />
        <FilterSelect label="Provider" name="provider" value={provider} options={PROVIDERS} onChange={setProvider} />
        <SearchField label="Search" placeholder="id, hostname or IP" value={search} onInput={setSearch} />
      </form>
      {accepted.length > 0 ? (
        <ul class="notice" role="status" data-testid="accepted">
          {accepted.map((a) => (
            <li key={a.op.id}>
              {a.verb} {a.server}: <a href={`#/operations/${a.op.id}`}>operation {a.op.id.slice(0, 8)}</a>
            </li>
          ))}
        </ul>
      ) : null}
      <ErrorNote error={error} />
      <ListTable
        rows={servers === null ? null : shown}
        testId="servers"
        columns={['Hostname', 'Status', 'Provider', 'Plan', 'Zone', 'IP', 'Price', 'Workspace', 'Actions']}
        empty={
          <p class="muted" data-testid="no-servers">
            No server.
          </p>
        }
        row={(s) => {
          const act = session.can('server_action', s.workspace) && s.status !== 'gone';
          const del = session.can('server_delete', s.workspace) && s.status !== 'gone';
          const power = (action: string, label: string) => (
            <ConfirmButton key={action} label={label} title={`${label} ${s.hostname}?`} confirmLabel={label} testId={`${action}-${s.id}`} action={() => api('POST', `/v1/servers/${s.id}/actions`, { action })} onDone={note(s, label)}>
              <p>
                {label} {s.hostname} ({s.provider} {s.provider_id}). It runs as an operation you can follow.
              </p>
            </ConfirmButton>
          );
          return (
            <tr key={s.id} data-server={s.id} data-hostname={s.hostname}>
              <th scope="row">
                {s.hostname}
                <br />
                <small class="mono muted">{s.id}</small>
              </th>
              <td>
                <StatusBadge status={s.status} />
              </td>
              <td>{s.provider}</td>
              <td>{s.plan}</td>
              <td>{s.zone}</td>
              <td class="mono">{s.ip_address ?? '—'}</td>
              <td>{money(planOf.get(`${s.provider}/${s.plan}`))}</td>
              <td>{s.workspace}</td>
              <td class="row-actions">
                {act ? (s.status === 'off' || s.status === 'stopped' ? power('power_on', 'Power on') : power('power_off', 'Power off')) : null}
                {act && s.status !== 'off' && s.status !== 'stopped' ? power('reboot', 'Reboot') : null}
                {act ? <ResizeButton server={s} plans={plans} onAccepted={note(s, 'Resize')} /> : null}
                {del ? (
                  <ConfirmButton label="Delete" title={`Delete ${s.hostname}?`} confirmLabel="Delete server" danger testId={`delete-${s.id}`} action={() => api('DELETE', `/v1/servers/${s.id}`)} onDone={note(s, 'Delete')}>
                    <p>The server is destroyed at {s.provider} with its disks. This cannot be undone.</p>
                  </ConfirmButton>
                ) : null}
              </td>
            </tr>
          );
        }}
      />
      {plans.length > 0 ? (
        <>
          <h2>Catalogue: the cheapest plan of each size, per provider</h2>
          <p class="muted">Monthly prices; the cheapest of a size is marked among prices in the same currency.</p>
          <CatalogueComparison plans={plans} />
        </>
      ) : null}
    </section>
  );
}
