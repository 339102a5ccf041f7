import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { ErrorNote, STATUSES, useDebounced, useInterval, when } from '../components.js';
import { openStream } from '../sse.js';

interface Minute {
  minute: string;
  completed: number;
  failed: number;
  cancelled: number;
}

interface Overview {
  generated_at: string;
  workspaces: string[] | null;
  counts: Record<string, number>;
  throughput: { minutes: Minute[]; finished: number; completed: number; failed: number; cancelled: number; failure_rate: number | null };
  queues: Array<{ queue: string; provider: string | null; waiting: number; active: number; delayed: number; failed: number }> | null;
  rate_budgets: Array<{
    provider: string;
    account: string;
    model: string;
    windows: Array<{ window_ms: number; limit: number; used: number; remaining: number }>;
    bucket: { capacity: number; tokens: number; refill_per_second: number } | null;
    paused_until: string | null;
  }> | null;
  workers: Array<{ id: string; pid: number; host: string; started_at: string; last_seen: string; queues: string[]; active_jobs: number }> | null;
}

function windowLabel(ms: number): string {
  if (ms % 3600000 === 0) return `${ms / 3600000} h`;
  if (ms % 60000 === 0) return `${ms / 60000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/** Operations finished per minute over the hour, stacked by final state. */
function ThroughputChart({ minutes }: { minutes: Minute[] }) {
  const W = 600;
  const H = 120;
  const max = Math.max(1, ...minutes.map((m) => m.completed + m.failed + m.cancelled));
  const bw = W / minutes.length;
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Operations finished per minute over the last hour; busiest minute ${max}`} preserveAspectRatio="none">
      {minutes.map((m, i) => {
        let y = H;
        return (
          <g key={m.minute}>
            <title>{`${new Date(m.minute).toLocaleTimeString()}: ${m.completed} completed, ${m.failed} failed, ${m.cancelled} cancelled`}</title>
            {(['completed', 'failed', 'cancelled'] as const).map((s) => {
              const h = (m[s] / max) * H;
              y -= h;
              return h > 0 ? <rect key={s} class={`bar-${s}`} x={i * bw + 0.5} y={y} width={Math.max(1, bw - 1)} height={h} /> : null;
            })}
          </g>
        );
      })}
      <line class="axis" x1="0" y1={H} x2={W} y2={H} vector-effect="non-scaling-stroke" />
    </svg>
  );
}

/** Failed ÷ finished per minute, as bars (minutes where nothing finished have none). */
function FailureChart({ minutes }: { minutes: Minute[] }) {
  const W = 600;
  const H = 60;
  const bw = W / minutes.length;
  return (
    <svg class="chart chart-small" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Failure rate per minute over the last hour" preserveAspectRatio="none">
      {minutes.map((m, i) => {
        const done = m.completed + m.failed + m.cancelled;
        if (done === 0) return null;
        // A light bar for each minute something finished, its failed share in red from the bottom.
        const h = (m.failed / done) * H;
        return (
          <g key={m.minute}>
            <title>{`${new Date(m.minute).toLocaleTimeString()}: ${m.failed} of ${done} failed`}</title>
            <rect class="bar-ok" x={i * bw + 0.5} y={0} width={Math.max(1, bw - 1)} height={H} />
            {h > 0 ? <rect class="bar-failed" x={i * bw + 0.5} y={H - h} width={Math.max(1, bw - 1)} height={h} /> : null}
          </g>
        );
      })}
      <line class="axis" x1="0" y1={H} x2={W} y2={H} vector-effect="non-scaling-stroke" />
    </svg>
  );
}

function AxisLabels() {
  return (
    <p class="axis-labels" aria-hidden="true">
      <span>−60 min</span>
      <span>now</span>
    </p>
  );
}

interface Pause {
  scope: string;
  name: string;
  reason?: string;
  paused_by?: string;
  paused_at?: string;
  held?: number;
}

export function OverviewPage() {
  const [data, setData] = useState<Overview | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [pauses, setPauses] = useState<Pause[] | null>(null);
  const load = async () => {
    try {
      setData(await api<Overview>('GET', '/v1/overview'));
      setError(null);
    } catch (err) {
      setError(err);
    }
    try {
      const p = await api<unknown>('GET', '/v1/intake/pauses');
      setPauses(Array.isArray(p) ? (p as Pause[]) : Array.isArray((p as { pauses?: unknown })?.pauses) ? ((p as { pauses: Pause[] }).pauses) : []);
    } catch (err) {
      // Not offered by this API (404) or not for this caller: the section is left out.
      if (err instanceof ApiError) setPauses(null);
    }
  };
  const soon = useDebounced(() => void load(), 500);
  useInterval(() => void load(), 5000);
  useEffect(() => {
    const s = openStream('/v1/events?kind=state', () => soon());
    return () => s.close();
  }, []);

  if (!data) return <section aria-busy={!error}>{error ? <ErrorNote error={error} /> : 'Loading…'}</section>;
  const t = data.throughput;
  return (
    <section>
      <h1>Overview</h1>
      <p class="muted">
        {data.workspaces === null ? 'All workspaces' : `Workspaces: ${data.workspaces.join(', ') || 'none'}`} · updated {when(data.generated_at)}
      </p>
      <ErrorNote error={error} />
      <h2>Operations by state</h2>
      <div class="cards" data-testid="counts">
        {STATUSES.map((s) => (
          <a key={s} class={`card card-${s}`} href={`#/operations?status=${s}`} data-testid={`count-${s}`}>
            <span class="card-number">{data.counts[s] ?? 0}</span>
            <span class="card-label">{s}</span>
          </a>
        ))}
        <div class="card">
          <span class="card-number" data-testid="count-total">
            {data.counts.total ?? 0}
          </span>
          <span class="card-label">total</span>
        </div>
      </div>

      <div class="grid-2">
        <article>
          <header>
            <h2>Throughput, last hour</h2>
          </header>
          <p data-testid="throughput">
            {t.finished} finished: {t.completed} completed, {t.failed} failed, {t.cancelled} cancelled
          </p>
          <ThroughputChart minutes={t.minutes} />
          <AxisLabels />
          <p class="legend">
            <span class="key bar-completed" /> completed <span class="key bar-failed" /> failed <span class="key bar-cancelled" /> cancelled
          </p>
        </article>
        <article>
          <header>
            <h2>Failure rate, last hour</h2>
          </header>
          <p data-testid="failure-rate">{t.failure_rate === null ? 'nothing finished' : `${(t.failure_rate * 100).toFixed(1)} % of finished operations failed`}</p>
          <FailureChart minutes={t.minutes} />
          <AxisLabels />
          <p class="legend">
            <span class="key bar-ok" /> a minute with finished operations <span class="key bar-failed" /> the share that failed
          </p>
        </article>
      </div>

      {pauses && pauses.length > 0 ? (
        <article class="pauses" data-testid="intake-pauses">
          <header>
            <h2>Intake paused</h2>
          </header>
          <ul>
            {pauses.map((p) => (
              <li key={`${p.scope}/${p.name}`}>
                <strong>
                  {p.scope} {p.name}
                </strong>
                {p.reason ? `: ${p.reason}` : ''} · {p.held ?? 0} pending held · paused by {p.paused_by ?? '?'} {when(p.paused_at)}
              </li>
            ))}
          </ul>
        </article>
      ) : null}

      {data.queues === null ? (
        <p class="muted">Queues, provider rate budgets and workers are shown to global admins.</p>
      ) : (
        <>
          <h2>Queue depth per provider</h2>
          <div class="table-wrap">
            <table data-testid="queues">
              <thead>
                <tr>
                  <th scope="col">Queue</th>
                  <th scope="col">Waiting</th>
                  <th scope="col">Active</th>
                  <th scope="col">Delayed (parked)</th>
                  <th scope="col">Failed</th>
                </tr>
              </thead>
              <tbody>
                {data.queues.map((q) => (
                  <tr key={q.queue} data-queue={q.queue}>
                    <th scope="row">{q.provider ?? q.queue}</th>
                    <td data-col="waiting">{q.waiting}</td>
                    <td data-col="active">{q.active}</td>
                    <td data-col="delayed">{q.delayed}</td>
                    <td>{q.failed}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>

          <h2>Provider rate budgets</h2>
          <div class="cards budgets" data-testid="budgets">
            {(data.rate_budgets ?? []).map((b) => (
              <article key={b.account} class="budget">
                <h3>{b.provider}</h3>
                <p class="muted small">account {b.account}</p>
                {b.paused_until ? <p class="warn">paused until {when(b.paused_until)} (429)</p> : null}
                {b.model === 'none' ? <p class="muted">no self-limit configured</p> : null}
                {b.windows.map((w) => (
                  <label key={w.window_ms}>
                    {w.remaining} of {w.limit} left per {windowLabel(w.window_ms)}
                    <meter min={0} max={w.limit} value={w.remaining} low={w.limit * 0.15} optimum={w.limit} />
                  </label>
                ))}
                {b.bucket ? (
                  <label>
                    {b.bucket.tokens} of {b.bucket.capacity} tokens (+{b.bucket.refill_per_second.toFixed(2)}/s)
                    <meter min={0} max={b.bucket.capacity} value={b.bucket.tokens} low={b.bucket.capacity * 0.15} optimum={b.bucket.capacity} />
                  </label>
                ) : null}
              </article>
            ))}
          </div>

          <h2>Workers</h2>
          {data.workers && data.workers.length === 0 ? <p class="warn">No worker is alive: nothing will run.</p> : null}
          <div class="table-wrap">
            <table data-testid="workers">
              <thead>
                <tr>
                  <th scope="col">Worker</th>
                  <th scope="col">Host / pid</th>
                  <th scope="col">Active jobs</th>
                  <th scope="col">Last seen</th>
                  <th scope="col">Started</th>
                </tr>
              </thead>
              <tbody>
                {(data.workers ?? []).map((w) => (
                  <tr key={w.id} data-worker={w.id}>
                    <th scope="row">{w.id.split('@')[0]}</th>
                    <td>
                      {w.host} / {w.pid}
                    </td>
                    <td>{w.active_jobs}</td>
                    <td>{Math.max(0, Math.round((Date.parse(data.generated_at) - Date.parse(w.last_seen)) / 1000))} s ago</td>
                    <td>{when(w.started_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
