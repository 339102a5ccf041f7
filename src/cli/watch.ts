import type { CliContext } from './context.js';
import { backoffMs, isTerminal, sleep, transient } from './follow.js';
import { paint, serialize, status } from './output.js';
import { readEvents, type StreamEvent } from './sse.js';
import type { Operation } from './types.js';
import { operationsTable, targetOf } from './views.js';

export interface WatchFilters {
  status?: string;
  type?: string;
  workspace?: string;
  provider?: string;
}

function matches(op: Operation, f: WatchFilters): boolean {
  return (!f.status || op.status === f.status) && (!f.type || op.type === f.type) && (!f.workspace || op.workspace === f.workspace) && (!f.provider || op.provider === f.provider);
}

/**
 * `pe ops list --watch`: the list kept live from `GET /v1/events`. On a terminal the table is
 * redrawn in place; otherwise each change is appended as a line (with -o json, each event as a
 * JSON line). Runs until interrupted; a dropped stream is resumed with Last-Event-ID.
 */
export async function watchOperations(ctx: CliContext, initial: Operation[], filters: WatchFilters, limit: number): Promise<number> {
  const tty = ctx.format === 'table' && Boolean(process.stdout.isTTY);
  let rows: Operation[] = initial.filter((op) => matches(op, filters));
  let lastEventId: string | null = null;
  let redrawTimer: NodeJS.Timeout | null = null;
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());

  const draw = () => {
    redrawTimer = null;
    const head = paint(`operations${describe(filters)} — live, ${new Date().toLocaleTimeString()} (Ctrl-C to stop)`, 'gray');
    process.stdout.write(`\x1b[H\x1b[2J${head}\n${operationsTable(rows)}`);
  };
  const redraw = () => {
    redrawTimer ??= setTimeout(draw, 150);
  };
  const line = (op: Operation, change: string) => {
    const time = new Date().toISOString().slice(11, 19);
    process.stdout.write(`${time}  ${op.id}  ${op.type.padEnd(16)}  ${change}${targetOf(op) ? `  ${targetOf(op)}` : ''}\n`);
  };

  if (tty) draw();
  else if (ctx.format === 'table') process.stdout.write(operationsTable(rows));

  const onEvent = async (event: StreamEvent) => {
    const e = event.data;
    if (!e.operation_id) return;
    if (ctx.format !== 'table') {
      // Scripts get the events themselves, those of operations that match.
      const known = rows.find((r) => r.id === e.operation_id);
      if ((!filters.type || e.operation_type === filters.type) && (!filters.workspace || e.workspace === filters.workspace) && (known || !filters.status || e.to === filters.status || e.from === filters.status)) {
        const record = { ...e, id: e.id ?? event.id };
        process.stdout.write(ctx.format === 'json' ? JSON.stringify(record) + '\n' : '---\n' + serialize(record, 'yaml'));
      }
      return;
    }
    let op = rows.find((r) => r.id === e.operation_id);
    if (!op) {
      if (event.kind !== 'state') return;
      try {
        op = (await ctx.client.get<Operation>(`/v1/operations/${encodeURIComponent(e.operation_id)}`)).body;
      } catch {
        return;
      }
      if (!matches({ ...op, status: e.to ?? op.status }, filters)) return;
      op = { ...op, status: e.to ?? op.status };
      rows = [op, ...rows].slice(0, limit);
      if (!tty) line(op, status(op.status));
      else redraw();
      return;
    }
    if (event.kind === 'state' && e.to) {
      const from = op.status;
      op.status = e.to;
      if (e.to === 'completed' || e.to === 'running') op.error = null;
      if (isTerminal(e.to)) {
        // Its error and result, for the table.
        try {
          Object.assign(op, (await ctx.client.get<Operation>(`/v1/operations/${encodeURIComponent(op.id)}`)).body);
        } catch {
          // the event says enough
        }
      }
      if (!tty) line(op, `${status(from)} → ${status(e.to)}${op.status === 'failed' && op.error ? `  ${op.error.code}: ${op.error.message}` : ''}`);
      if (filters.status && e.to !== filters.status) rows = rows.filter((r) => r !== op);
    } else if (event.kind === 'progress') {
      op.progress = { ...(op.progress ?? {}), message: e.message ?? '' };
      if (!tty) line(op, `${status(op.status)}  ${e.message ?? ''}`);
    } else if (event.kind === 'cancel_requested') {
      op.cancel_requested_at = e.at ?? new Date().toISOString();
      op.progress = { ...(op.progress ?? {}), message: 'cancel requested' };
      if (!tty) line(op, 'cancel requested');
    }
    if (tty) redraw();
  };

  let attempt = 0;
  let announced = false;
  while (!stop.signal.aborted) {
    try {
      const res = await ctx.client.openStream('/v1/events', { query: { workspace: filters.workspace }, lastEventId, signal: stop.signal });
      if (!tty && !announced) {
        announced = true;
        process.stderr.write('watching for changes (Ctrl-C to stop)\n');
      }
      for await (const event of readEvents(res)) {
        if (event.id) lastEventId = event.id;
        attempt = 0;
        await onEvent(event);
      }
      await sleep(backoffMs(attempt++), stop.signal);
    } catch (err) {
      if (stop.signal.aborted) break;
      if (!transient(err)) throw err;
      const delay = backoffMs(attempt++);
      process.stderr.write(paint(`connection lost (${(err as Error).message}); resuming in ${(delay / 1000).toFixed(1)}s\n`, 'yellow', process.stderr));
      await sleep(delay, stop.signal);
    }
  }
  if (redrawTimer) clearTimeout(redrawTimer);
  return 0;
}

function describe(f: WatchFilters): string {
  const parts = Object.entries(f)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}=${v}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}
