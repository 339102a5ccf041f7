import { age, details, duration, paint, status, table, type Column } from './output.js';
import type { Operation, Server, Workflow, WorkflowStep } from './types.js';

const statusStyle = (text: string) => status(text);

/** What an operation is about, in a few words: its server, hostname or workflow. */
export function targetOf(op: Operation): string {
  const t = op.target ?? {};
  const r = op.request ?? {};
  const bits = [t.server_id ?? t.taskserv_id ?? r.server_id, t.hostname ?? r.hostname ?? r.cluster_name ?? r.name].filter((x) => typeof x === 'string' && x);
  return [...new Set(bits as string[])].join(' ');
}

export function progressOf(op: Operation): string {
  if (op.status === 'failed' && op.error) return `${op.error.code}: ${op.error.message}`;
  if (op.status === 'cancelled') return op.cancel_requested_by ? `cancelled by ${op.cancel_requested_by}` : 'cancelled';
  if (op.status === 'completed') {
    // What it left, not its last progress message (which may be a wait long over).
    const r = (op.result ?? {}) as Record<string, unknown>;
    if (r.deleted) return `deleted ${r.server_id ?? ''}`.trim();
    if (r.would_create) return 'check passed: nothing created';
    const late = r.cancel_too_late ? ' (the cancel came too late)' : '';
    if (typeof r.action === 'string') return `${r.action} done${typeof r.status === 'string' ? `, server ${r.status}` : ''}${late}`;
    if (typeof r.plan === 'string') return `now ${r.plan}${r.previous_plan ? ` (was ${r.previous_plan})` : ''}${typeof r.status === 'string' ? `, server ${r.status}` : ''}${late}`;
    if (op.type === 'server.create' && typeof r.ip_address === 'string') return `running at ${r.ip_address}`;
    return late.trim();
  }
  return op.progress?.message ?? '';
}

export const operationColumns: Column<Operation>[] = [
  { header: 'ID', value: (o) => o.id },
  { header: 'TYPE', value: (o) => o.type },
  { header: 'STATUS', value: (o) => o.status, style: statusStyle },
  { header: 'WORKSPACE', value: (o) => o.workspace },
  { header: 'PROVIDER', value: (o) => o.provider },
  { header: 'TARGET', value: (o) => targetOf(o) },
  { header: 'CREATED', value: (o) => age(o.created_at) },
  { header: 'DETAIL', value: (o) => progressOf(o) },
];

export function operationsTable(ops: Operation[]): string {
  return ops.length === 0 ? 'no operations\n' : table(ops, operationColumns);
}

function elapsed(op: Operation): string | undefined {
  const start = Date.parse(op.started_at ?? op.created_at);
  const end = op.finished_at ? Date.parse(op.finished_at) : Date.now();
  return Number.isNaN(start) || Number.isNaN(end) ? undefined : duration(Math.max(0, end - start));
}

export function operationDetails(op: Operation): string {
  const actions = op.actions ? Object.entries(op.actions).filter(([, v]) => v).map(([k]) => k.replace('_', '-')).join(', ') || 'none' : undefined;
  const pairs: Array<[string, unknown]> = [
    ['id', op.id],
    ['type', op.type],
    ['status', status(op.status)],
    ['workspace', op.workspace],
    ['provider', op.provider],
    ['target', targetOf(op) || undefined],
    ['progress', op.progress?.message ? `${op.progress.message}${op.progress.step ? ` (${op.progress.step})` : ''}` : undefined],
    ['error', op.error ? `${op.error.code}: ${op.error.message}${op.error.retryable ? ' (retryable)' : ''}` : undefined],
    ['attempt', op.attempt],
    ['requested by', op.requested_by],
    ['created', op.created_at ? `${op.created_at} (${age(op.created_at)})` : undefined],
    ['started', op.started_at ?? undefined],
    ['finished', op.finished_at ?? undefined],
    ['took', op.finished_at ? elapsed(op) : undefined],
    ['cancel requested', op.cancel_requested_at ?? undefined],
    ['parent', op.parent_id ?? undefined],
    ['retry of', op.retry_of ?? undefined],
    ['retried by', op.retried_by ?? undefined],
    ['actions', actions],
  ];
  let out = details(pairs);
  if (op.result && Object.keys(op.result).length > 0) {
    const { server, ...rest } = op.result as Record<string, unknown>;
    const simple = Object.entries(rest).filter(([, v]) => v === null || typeof v !== 'object' || Array.isArray(v));
    if (simple.length > 0) out += '\n' + paint('result', 'bold') + '\n' + indent(details(simple));
    if (server && typeof server === 'object') out += '\n' + paint('server', 'bold') + '\n' + indent(serverDetails(server as Server));
  }
  return out;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? '  ' + l : l))
    .join('\n');
}

export const serverColumns: Column<Server>[] = [
  { header: 'ID', value: (s) => s.id },
  { header: 'HOSTNAME', value: (s) => s.hostname },
  { header: 'PROVIDER', value: (s) => s.provider },
  { header: 'PLAN', value: (s) => s.plan },
  { header: 'ZONE', value: (s) => s.zone },
  { header: 'STATUS', value: (s) => s.status, style: statusStyle },
  { header: 'IP', value: (s) => s.ip_address },
  { header: 'WORKSPACE', value: (s) => s.workspace },
  { header: 'TAGS', value: (s) => s.tags },
];

export function serversTable(servers: Server[]): string {
  return servers.length === 0 ? 'no servers\n' : table(servers, serverColumns);
}

export function serverDetails(s: Server): string {
  return details([
    ['id', s.id],
    ['hostname', s.hostname],
    ['status', s.status ? status(s.status) : undefined],
    ['provider', s.provider_id ? `${s.provider} (${s.provider_id})` : s.provider],
    ['plan', s.plan],
    ['zone', s.zone],
    ['image', s.image ?? undefined],
    ['ip', s.ip_address ?? undefined],
    ['provider status', s.provider_status ?? undefined],
    ['tags', s.tags && s.tags.length ? s.tags.join(', ') : undefined],
    ['workspace', s.workspace],
    ['operation', s.operation_id],
    ['created', s.created_at],
  ]);
}

export const stepColumns: Column<WorkflowStep>[] = [
  { header: 'STEP', value: (s) => s.id },
  { header: 'TYPE', value: (s) => s.type },
  { header: 'STATUS', value: (s) => s.status, style: statusStyle },
  { header: 'OPERATION', value: (s) => s.operation_id },
  { header: 'TOOK', value: (s) => (s.started_at && s.finished_at ? duration(Date.parse(s.finished_at) - Date.parse(s.started_at)) : '') },
  { header: 'RESULT', value: (s) => (s.error ? `${s.error.code}: ${s.error.message}` : stepResult(s)) },
];

function stepResult(s: WorkflowStep): string {
  const r = (s.result ?? {}) as Record<string, any>;
  return [r.server_id ?? r.taskserv_id, r.hostname ?? r.server?.hostname, r.ip_address].filter((x) => typeof x === 'string').join(' ');
}

export function workflowDetails(wf: Workflow): string {
  let out = details([
    ['id', wf.id],
    ['workflow', wf.workflow_type],
    ['status', status(wf.status)],
    ['workspace', wf.workspace],
    ['provider', wf.provider],
    ['error', wf.error ? `${wf.error.code}: ${wf.error.message}` : undefined],
    ['created', wf.created_at],
    ['finished', wf.finished_at ?? undefined],
  ]);
  out += '\n' + (wf.steps.length ? table(wf.steps, stepColumns) : 'no steps\n');
  if (wf.rollback && wf.rollback.length > 0) out += '\n' + paint('rollback', 'bold') + '\n' + table(wf.rollback, stepColumns);
  return out;
}
