import dagre from '@dagrejs/dagre';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { StepView as Step, WorkflowView as Workflow } from '../../core/workflows/view.js';
import { api } from '../api.js';
import { ConfirmButton, ErrorNote, Json, StatusBadge, TERMINAL, duration, useDebounced, useInterval, when } from '../components.js';
import { useSession } from '../session.js';
import { openStream } from '../sse.js';

const NODE_W = 168;
const NODE_H = 52;

/** The steps as a graph laid out by dagre, top to bottom; each node links to its operation. */
function StepGraph({ steps }: { steps: Step[] }) {
  const layout = useMemo(() => {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 40, marginx: 8, marginy: 8 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const s of steps) g.setNode(s.id, { width: NODE_W, height: NODE_H });
    for (const s of steps) for (const d of s.depends_on) if (steps.some((x) => x.id === d)) g.setEdge(d, s.id);
    dagre.layout(g);
    const graph = g.graph() as { width?: number; height?: number };
    return {
      width: Math.max(graph.width ?? NODE_W, NODE_W),
      height: Math.max(graph.height ?? NODE_H, NODE_H),
      nodes: new Map(steps.map((s) => [s.id, g.node(s.id) as { x: number; y: number }])),
      edges: g.edges().map((e) => ({ from: e.v, to: e.w, points: (g.edge(e) as { points: Array<{ x: number; y: number }> }).points })),
    };
  }, [steps.map((s) => `${s.id}<${s.depends_on.join(',')}`).join('|')]);
  return (
    <div class="graph-wrap">
      <svg class="dag" data-testid="dag" viewBox={`0 0 ${layout.width} ${layout.height}`} width={layout.width} height={layout.height} role="img" aria-label={`Step graph: ${steps.map((s) => `${s.id} ${s.status}`).join(', ')}`}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" class="arrow" />
          </marker>
        </defs>
        {layout.edges.map((e) => (
          <polyline key={`${e.from}>${e.to}`} class="edge" points={e.points.map((p) => `${p.x},${p.y}`).join(' ')} marker-end="url(#arrow)" fill="none" />
        ))}
        {steps.map((s) => {
          const n = layout.nodes.get(s.id)!;
          const body = (
            <g class={`node node-${s.status}`} data-step={s.id} data-status={s.status} transform={`translate(${n.x - NODE_W / 2},${n.y - NODE_H / 2})`}>
              <title>{`${s.id} (${s.type}): ${s.status}`}</title>
              <rect width={NODE_W} height={NODE_H} rx="8" />
              <text x={NODE_W / 2} y="21" text-anchor="middle" class="node-id">
                {s.id.length > 20 ? `${s.id.slice(0, 19)}…` : s.id}
              </text>
              <text x={NODE_W / 2} y="39" text-anchor="middle" class="node-sub">
                {s.type} · {s.status}
              </text>
            </g>
          );
          return s.operation_id ? (
            <a key={s.id} href={`#/operations/${s.operation_id}`} aria-label={`step ${s.id}, ${s.status}: open its operation`}>
              {body}
            </a>
          ) : (
            <g key={s.id}>{body}</g>
          );
        })}
      </svg>
    </div>
  );
}

/** When each step ran, on one time axis from the first start to the last finish (or now). */
function Waterfall({ steps, now }: { steps: Step[]; now: number }) {
  const started = steps.filter((s) => s.started_at);
  if (started.length === 0) return <p class="muted">No step has started yet.</p>;
  const t0 = Math.min(...started.map((s) => Date.parse(s.started_at!)));
  const t1 = Math.max(t0 + 1000, ...started.map((s) => (s.finished_at ? Date.parse(s.finished_at) : now)));
  const W = 600;
  const row = 22;
  const label = 130;
  const scale = (W - label - 10) / (t1 - t0);
  return (
    <svg class="waterfall" data-testid="waterfall" viewBox={`0 0 ${W} ${steps.length * row + 20}`} role="img" aria-label={`Timing of the steps over ${((t1 - t0) / 1000).toFixed(1)} s`}>
      {steps.map((s, i) => {
        const y = i * row + 4;
        const start = s.started_at ? Date.parse(s.started_at) : null;
        const end = s.finished_at ? Date.parse(s.finished_at) : now;
        return (
          <g key={s.id}>
            <text x="0" y={y + 13} class="wf-label">
              {s.id.length > 16 ? `${s.id.slice(0, 15)}…` : s.id}
            </text>
            {start !== null ? (
              <rect class={`wf-bar node-${s.status}`} x={label + (start - t0) * scale} y={y} width={Math.max(2, (end - start) * scale)} height={row - 8} rx="3">
                <title>{`${s.id}: ${duration(s.started_at, s.finished_at)}`}</title>
              </rect>
            ) : null}
          </g>
        );
      })}
      <text x={label} y={steps.length * row + 16} class="axis-label">
        0 s
      </text>
      <text x={W - 10} y={steps.length * row + 16} class="axis-label" text-anchor="end">
        {((t1 - t0) / 1000).toFixed(1)} s
      </text>
    </svg>
  );
}

export function WorkflowPage({ id }: { id: string }) {
  const session = useSession();
  const [wf, setWf] = useState<Workflow | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [now, setNow] = useState(Date.now());
  // Reads overlap: only the answer of the latest read started is shown.
  const latest = useRef(0);
  const load = () => {
    const seq = ++latest.current;
    return api<Workflow>('GET', `/v1/workflows/${id}`)
      .then((w) => seq === latest.current && (setWf(w), setError(null), setNow(Date.now())))
      .catch((err) => seq === latest.current && setError(err));
  };
  const soon = useDebounced(() => void load(), 250);
  useEffect(() => {
    setWf(null);
    void load();
  }, [id]);
  // Steps are operations of the workflow's workspace: any state change there may be one of them.
  useEffect(() => {
    if (!wf?.workspace) return;
    const s = openStream(`/v1/events?kind=state&workspace=${encodeURIComponent(wf.workspace)}`, () => soon());
    return () => s.close();
  }, [id, wf?.workspace]);
  // And a slow look in case an event was missed, while it runs.
  useInterval(() => {
    if (wf && !TERMINAL.has(wf.status)) void load();
  }, 3000, [id, wf?.status]);

  if (!wf) return <section aria-busy={!error}>{error ? <ErrorNote error={error} /> : 'Loading…'}</section>;
  const open = !TERMINAL.has(wf.status);
  return (
    <section>
      <nav aria-label="breadcrumb">
        <ul>
          <li>
            <a href="#/workflows">Workflows</a>
          </li>
          <li>{wf.id}</li>
        </ul>
      </nav>
      <h1>Workflow {wf.workflow_type}</h1>
      <p data-testid="wf-status">
        <StatusBadge status={wf.status} /> in {wf.workspace} · created {when(wf.created_at)} · {wf.started_at ? duration(wf.started_at, wf.finished_at) : 'not started'}
      </p>
      {wf.progress ? <p>{wf.progress.message}</p> : null}
      <div class="actions">
        {open && session.can('workflow_cancel', wf.workspace) ? (
          <ConfirmButton label="Cancel workflow" title="Cancel this workflow?" confirmLabel="Cancel workflow" danger testId="cancel-workflow" action={() => api('POST', `/v1/workflows/${wf.id}/cancel`)} onDone={() => void load()}>
            <p>Its pending steps are cancelled and its running steps abort and clean up; with on_failure rollback the servers it made are deleted.</p>
          </ConfirmButton>
        ) : null}
      </div>
      <ErrorNote error={error} />
      <article>
        <header>
          <h2>Steps</h2>
        </header>
        <StepGraph steps={wf.steps} />
        <p class="legend">
          {['waiting', 'pending', 'running', 'completed', 'failed', 'cancelled', 'skipped'].map((s) => (
            <span key={s}>
              <span class={`key node-${s}`} /> {s}{' '}
            </span>
          ))}
        </p>
      </article>
      <article>
        <header>
          <h2>Timing</h2>
        </header>
        <Waterfall steps={[...wf.steps, ...wf.rollback]} now={now} />
      </article>
      {wf.rollback.length > 0 ? (
        <article>
          <header>
            <h2>Rollback</h2>
          </header>
          <ul>
            {wf.rollback.map((s) => (
              <li key={s.id}>
                {s.operation_id ? <a href={`#/operations/${s.operation_id}`}>{s.id}</a> : s.id} <StatusBadge status={s.status} />
              </li>
            ))}
          </ul>
        </article>
      ) : null}
      <div class="grid-2">
        <article>
          <header>
            <h2>Request</h2>
          </header>
          <Json value={wf.request} label="Request" />
        </article>
        <article>
          <header>
            <h2>Result</h2>
          </header>
          {wf.error ? (
            <p class="error-note">
              <code>{wf.error.code}</code> {wf.error.message}
            </p>
          ) : null}
          <Json value={wf.result} label="Result" />
        </article>
      </div>
    </section>
  );
}
