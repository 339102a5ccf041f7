/**
 * The checks, each a pure function of what was gathered once everything was quiet: the
 * clients' ledger, the engine's operations and inventory, and the providers' servers and
 * request log read straight from the sandbox.
 */
import type { Operation } from '../src/core/operations/model.js';
import type { ServerRecord } from '../src/core/servers/inventory.js';
import type { RequestLogEntry } from '../src/sandbox/request-counts.js';
import type { KeyRecord, Ledger } from './client.js';
import { TERMINAL } from './engine-view.js';
import { classify, type ClassifiedRequest, type RequestKind, tookEffect } from './provider-requests.js';
import { markerOfCreate, type SandboxServer, type StatusClass } from './sandbox-view.js';

export interface Evidence {
  ledger: Ledger;
  /** Every operation the engine lists, plus accepted ones looked up one by one (null: unknown to the engine). */
  operations: Map<string, Operation>;
  inventory: ServerRecord[];
  servers: SandboxServer[];
  log: RequestLogEntry[];
}

export interface Finding {
  count: number;
  details: string[];
}

export interface Findings {
  accepted: number;
  lost: Finding;
  duplicateServers: Finding;
  repeatedActions: Finding;
  duplicateOperations: Finding;
  inventoryMismatches: Finding;
  stuck: Finding;
  /** Worth saying, but not counted (a request a client gave up on, an operation no client asked for). */
  notes: string[];
}

export function check(e: Evidence): Findings {
  return {
    accepted: e.ledger.acceptedCount,
    lost: lost(e),
    duplicateServers: duplicateServers(e),
    repeatedActions: repeatedActions(e),
    duplicateOperations: duplicateOperations(e),
    inventoryMismatches: inventoryMismatches(e),
    stuck: stuck(e),
    notes: notes(e),
  };
}

function describeOp(op: Operation | undefined): string {
  if (!op) return 'unknown to the engine';
  const what = op.type === 'server.action' ? `server.action ${(op.request as { action?: string }).action}` : op.type;
  const cleanupErrors = (op.result as { cleanup_errors?: unknown } | null)?.cleanup_errors;
  const problems = Array.isArray(cleanupErrors) && cleanupErrors.length > 0 ? `, cleanup errors: ${cleanupErrors.join('; ')}` : '';
  return `${what} ${op.status}${op.error ? ` (${op.error.code}: ${op.error.message})` : ''}, attempt ${op.attempt}${problems}`;
}

/** Accepted operations the engine does not have, or that never finished. */
function lost(e: Evidence): Finding {
  const details: string[] = [];
  for (const record of e.ledger.accepted()) {
    const ids = [...record.operationIds];
    const id = ids[0];
    const op = id === undefined ? undefined : e.operations.get(id);
    if (!op) details.push(`lost: ${record.kind} accepted under key ${record.key} as operation ${id ?? '(no id in the answer)'}, which the engine does not know`);
    else if (!TERMINAL.has(op.status)) details.push(`lost: ${record.kind} ${op.id} (key ${record.key}) never finished: ${describeOp(op)}`);
  }
  return { count: details.length, details };
}

/** More than one server made for one operation: listed with its marker now, or created with it (even if deleted since). */
function duplicateServers(e: Evidence): Finding {
  const listed = new Map<string, SandboxServer[]>();
  for (const server of e.servers) {
    for (const marker of server.markers) listed.set(marker, [...(listed.get(marker) ?? []), server]);
  }
  const created = new Map<string, RequestLogEntry[]>();
  for (const entry of e.log) {
    if (entry.method !== 'POST' || !tookEffect(entry) || classify(entry).kind !== 'create') continue;
    const marker = markerOfCreate(entry);
    if (marker !== null) created.set(marker, [...(created.get(marker) ?? []), entry]);
  }
  let count = 0;
  const details: string[] = [];
  for (const marker of new Set([...listed.keys(), ...created.keys()])) {
    const now = listed.get(marker) ?? [];
    const made = created.get(marker) ?? [];
    const servers = Math.max(now.length, made.length);
    if (servers <= 1) continue;
    count += servers - 1;
    const provider = now[0]?.provider ?? made[0]!.provider;
    details.push(
      `duplicate server: operation ${marker} (${describeOp(e.operations.get(marker))}) made ${made.length} ${provider} servers` +
        ` (creates at ${made.map((m) => new Date(m.at).toISOString().slice(11, 23)).join(', ')}); ${now.length} still there: ${now.map((s) => `${s.providerId} ${s.status}`).join(', ') || 'none'}`,
    );
  }
  return { count, details };
}

const POWER_KINDS: readonly RequestKind[] = ['reboot', 'power_off', 'power_on', 'resize'];

/** Provider requests of each kind an operation may send to its server, at most once each. */
function capacity(op: Operation): Partial<Record<RequestKind, number>> {
  switch (op.type) {
    case 'server.action': {
      const action = (op.request as { action?: string }).action;
      // A reboot of a server that is off starts it instead.
      if (action === 'reboot') return { reboot: 1, power_on: 1 };
      return action === 'power_off' ? { power_off: 1 } : action === 'power_on' ? { power_on: 1 } : {};
    }
    case 'server.resize':
      return { power_off: 1, resize: 1, power_on: 1 };
    // UpCloud stops a server before deleting it; a cancelled or failed create deletes what it made.
    case 'server.delete':
    case 'server.create':
      return { power_off: 1 };
    default:
      return {};
  }
}

/**
 * The servers an operation acted on: its target, or for a create the servers carrying its
 * marker and whatever its result names (a cancelled create's cleaned-up server).
 */
function serversOf(e: Evidence, op: Operation): string[] {
  const target = op.target as { provider_id?: unknown } | null;
  if (typeof target?.provider_id === 'string') return [target.provider_id];
  if (op.type !== 'server.create') return [];
  const found = new Set<string>(createdBy(e).get(op.id) ?? []);
  const visit = (value: unknown, depth: number): void => {
    if (value === null || typeof value !== 'object' || depth > 5) return;
    for (const [key, v] of Object.entries(value)) {
      if ((key === 'provider_id' || key === 'providerId') && (typeof v === 'string' || typeof v === 'number')) found.add(String(v));
      else visit(v, depth + 1);
    }
  };
  visit(op.result, 0);
  return [...found];
}

const createdByCache = new WeakMap<Evidence, Map<string, Set<string>>>();

/** Operation id → the provider ids of servers it made, by their markers and by the inventory's record of who made each. */
function createdBy(e: Evidence): Map<string, Set<string>> {
  let map = createdByCache.get(e);
  if (map) return map;
  map = new Map();
  const add = (opId: string, providerId: string) => map!.set(opId, (map!.get(opId) ?? new Set()).add(providerId));
  for (const server of e.servers) for (const marker of server.markers) add(marker, server.providerId);
  for (const record of e.inventory) if (record.operation_id) add(record.operation_id, record.provider_id);
  createdByCache.set(e, map);
  return map;
}

/** A little slack around an operation's run for clock granularity. */
const SLACK_MS = 250;

/**
 * Power actions and resizes: each provider request of a kind is matched to the operations
 * running on that server when it arrived. Where the runs of several operations on one
 * server overlap they are taken together, so two operations that each sent one reboot at
 * the same time count as two reboots for two operations, not as a repeat. A request more
 * than the operations running could send, or one sent while none was running, is repeated.
 */
function repeatedActions(e: Evidence): Finding {
  const opsByServer = new Map<string, Array<{ op: Operation; from: number; to: number }>>();
  for (const op of e.operations.values()) {
    if (op.started_at === null) continue;
    const from = Date.parse(op.started_at) - SLACK_MS;
    const to = op.finished_at === null ? Number.POSITIVE_INFINITY : Date.parse(op.finished_at) + SLACK_MS;
    for (const id of serversOf(e, op)) {
      const key = `${op.provider}/${id}`;
      opsByServer.set(key, [...(opsByServer.get(key) ?? []), { op, from, to }]);
    }
  }
  const requestsByServerKind = new Map<string, ClassifiedRequest[]>();
  for (const entry of e.log) {
    if (!tookEffect(entry)) continue;
    const request = classify(entry);
    if (!POWER_KINDS.includes(request.kind)) continue;
    for (const id of request.providerIds) {
      const key = `${request.provider}/${id}|${request.kind}`;
      requestsByServerKind.set(key, [...(requestsByServerKind.get(key) ?? []), request]);
    }
  }

  let count = 0;
  const details: string[] = [];
  for (const [key, requests] of requestsByServerKind) {
    const [server, kind] = key.split('|') as [string, RequestKind];
    const runs = (opsByServer.get(server) ?? []).filter((r) => (capacity(r.op)[kind] ?? 0) > 0).sort((a, b) => a.from - b.from);
    // Overlapping runs, merged.
    const clusters: Array<{ from: number; to: number; ops: Operation[] }> = [];
    for (const run of runs) {
      const last = clusters.at(-1);
      if (last && run.from <= last.to) {
        last.to = Math.max(last.to, run.to);
        last.ops.push(run.op);
      } else {
        clusters.push({ from: run.from, to: run.to, ops: [run.op] });
      }
    }
    const unmatched: ClassifiedRequest[] = [];
    const perCluster = new Map<number, ClassifiedRequest[]>();
    for (const request of requests) {
      const i = clusters.findIndex((c) => request.entry.at >= c.from && request.entry.at <= c.to);
      if (i < 0) unmatched.push(request);
      else perCluster.set(i, [...(perCluster.get(i) ?? []), request]);
    }
    const at = (rs: ClassifiedRequest[]) => rs.map((r) => `${new Date(r.entry.at).toISOString().slice(11, 23)}${r.entry.delivered ? '' : ' (answer not delivered)'}`).join(', ');
    for (const [i, sent] of perCluster) {
      const cluster = clusters[i]!;
      const allowed = cluster.ops.reduce((sum, op) => sum + (capacity(op)[kind] ?? 0), 0);
      if (sent.length <= allowed) continue;
      count += sent.length - allowed;
      details.push(`repeated action: ${server} got ${sent.length} ${kind} requests (at ${at(sent)}) while ${cluster.ops.map((op) => `${op.id} (${describeOp(op)})`).join(' and ')} ran, which may send ${allowed}`);
    }
    if (unmatched.length > 0) {
      count += unmatched.length;
      details.push(`repeated action: ${server} got ${unmatched.length} ${kind} requests (at ${at(unmatched)}) while no operation that sends one was running on it`);
    }
  }
  return { count, details };
}

/** More than one operation for one Idempotency-Key: by the trace id each request carried, and by the answers. */
function duplicateOperations(e: Evidence): Finding {
  const byTrace = topLevelByTrace(e);
  let count = 0;
  const details: string[] = [];
  for (const record of e.ledger.records.values()) {
    const ids = new Set([...(byTrace.get(record.requestId) ?? []).map((op) => op.id), ...record.operationIds]);
    if (ids.size <= 1) continue;
    count += ids.size - 1;
    details.push(`duplicate operations: key ${record.key} (${record.kind}, answers ${record.attempts.join(',')}) has ${ids.size} operations: ${[...ids].map((id) => `${id} (${describeOp(e.operations.get(id))})`).join(', ')}`);
  }
  return { count, details };
}

function topLevelByTrace(e: Evidence): Map<string, Operation[]> {
  const byTrace = new Map<string, Operation[]>();
  for (const op of e.operations.values()) {
    if (op.parent_id !== null) continue;
    byTrace.set(op.trace_id, [...(byTrace.get(op.trace_id) ?? []), op]);
  }
  return byTrace;
}

function inventoryClass(status: string): StatusClass {
  if (status === 'running' || status === 'provisioning' || status === 'starting') return 'on';
  if (status === 'stopped' || status === 'stopping') return 'off';
  if (status === 'gone') return 'gone';
  return 'other';
}

/**
 * The inventory against the providers: each entry's server must exist with a status of the
 * same class (on, off), unless the entry says it is gone; every server that carries an
 * engine marker and is not being deleted must be in the inventory.
 */
function inventoryMismatches(e: Evidence): Finding {
  const atProvider = new Map(e.servers.filter((s) => s.statusClass !== 'gone').map((s) => [`${s.provider}/${s.providerId}`, s]));
  const inInventory = new Set(e.inventory.map((r) => `${r.provider}/${r.provider_id}`));
  const details: string[] = [];
  for (const record of e.inventory) {
    const server = atProvider.get(`${record.provider}/${record.provider_id}`);
    const local = inventoryClass(record.status);
    const last = `made by ${record.operation_id || "?"}`;
    if (!server) {
      if (local !== 'gone') details.push(`inventory mismatch: ${record.id} (${record.provider} ${record.provider_id}, ${record.hostname}) is ${record.status} in the inventory but the provider has no such server; ${describeLastOps(e, record)}`);
      continue;
    }
    if (local === 'gone' || (local !== 'other' && server.statusClass !== 'other' && local !== server.statusClass)) {
      details.push(`inventory mismatch: ${record.id} (${record.provider} ${record.provider_id}, ${record.hostname}) is ${record.status} in the inventory, ${server.status} at the provider (${last}); ${describeLastOps(e, record)}`);
    }
  }
  for (const server of atProvider.values()) {
    if (server.markers.length === 0 || inInventory.has(`${server.provider}/${server.providerId}`)) continue;
    details.push(
      `inventory mismatch: ${server.provider} server ${server.providerId} (${server.name}, ${server.status}) made by ${server.markers
        .map((m) => `${m} (${describeOp(e.operations.get(m))})`)
        .join(', ')} is not in the inventory; ${describeLastOps(e, { provider: server.provider, provider_id: server.providerId })}`,
    );
  }
  return { count: details.length, details };
}

/** The last operations that targeted a server, newest last, to explain a mismatch. */
function describeLastOps(e: Evidence, server: { provider: string; provider_id: string }): string {
  const ops = [...e.operations.values()]
    .filter((op) => op.provider === server.provider && serversOf(e, op).includes(server.provider_id))
    .sort((a, b) => a.created_at.localeCompare(b.created_at))
    .slice(-3);
  return ops.length === 0 ? 'no operation targeted it' : `last operations on it: ${ops.map((op) => `${op.id} ${describeOp(op)}`).join('; ')}`;
}

function stuck(e: Evidence): Finding {
  const details = [...e.operations.values()]
    .filter((op) => !TERMINAL.has(op.status))
    .map((op) => `stuck: ${op.id} ${describeOp(op)}, since ${op.updated_at}${op.progress ? `: ${op.progress.message}` : ''}`);
  return { count: details.length, details };
}

function notes(e: Evidence): string[] {
  const out: string[] = [];
  const gaveUp = [...e.ledger.records.values()].filter((r) => r.final === null);
  if (gaveUp.length > 0) out.push(`${gaveUp.length} requests never got an answer their client could act on (e.g. ${describeRecord(gaveUp[0]!)})`);
  const keys = new Set([...e.ledger.records.values()].map((r) => r.requestId));
  const strangers = [...topLevelByTrace(e).entries()].filter(([trace]) => !keys.has(trace));
  if (strangers.length > 0) out.push(`${strangers.length} top-level operations carry a trace id no client sent (e.g. ${strangers[0]![1][0]!.id} ${describeOp(strangers[0]![1][0])})`);
  const answeredWithoutOp = [...e.ledger.records.values()].filter((r) => r.final !== 202 && (topLevelByTrace(e).get(r.requestId)?.length ?? 0) > 0);
  if (answeredWithoutOp.length > 0) out.push(`${answeredWithoutOp.length} requests not answered 202 have an operation anyway (e.g. ${describeRecord(answeredWithoutOp[0]!)})`);
  return out;
}

function describeRecord(r: KeyRecord): string {
  return `key ${r.key} ${r.kind} ${r.method} ${r.path}, answers ${r.attempts.join(',')}`;
}
