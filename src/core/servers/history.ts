/**
 * What touched one server: the operations on it (its create, power actions, resizes, delete)
 * and the drift the reconcile found about it, newest first, each with its events from the
 * event stream. Serves `GET /v1/servers/{id}/events` and `GET /api/v1/droplets/{id}/events`.
 *
 * The event stream holds everything the engine does, so finding one server's part in it would
 * mean reading all of it. Instead each server keeps a short index (Keys.serverHistory): an
 * operation on it is entered when the operation is written (operations/submit.ts,
 * workflows/steps.ts), its create when the server is first read here (the record names it),
 * and a drift event as it is appended (events/append.ts). The index is bounded; an operation
 * leaves it when retention removes the operation, and drift entries age out with the stream.
 */
import type { Redis } from 'ioredis';
import type { CoreContext } from '../context.js';
import { operationHistory } from '../events/hub.js';
import { compareEventIds, toEvent, type EngineEvent } from '../events/event.js';
import type { Keys } from '../keys.js';
import { luaScript } from '../lua.js';
import { laneOf, type Operation } from '../operations/model.js';
import type { ServerRecord } from './inventory.js';

/** Entries one server's index keeps; the oldest leave first. */
export const SERVER_HISTORY_MAX = 1000;

const OP = 'op:';
const EV = 'ev:';

/**
 * Scores are epoch ms × 1000 plus a small random part, so two entries of the same millisecond
 * rarely share a score and a page boundary (an exclusive score) cannot split them. Still exact
 * in a double (below 2^53) for millennia.
 */
function scoreAt(ms: number): number {
  return ms * 1000 + Math.floor(Math.random() * 1000);
}

/** Enters an operation into the history of the server it changes; one on no server is ignored. */
export async function indexServerOperation(redis: Redis, keys: Keys, op: Pick<Operation, 'id' | 'type' | 'target' | 'created_at'>): Promise<void> {
  const serverId = laneOf(op);
  if (!serverId) return;
  await addEntry(redis, keys, serverId, OP + op.id, Date.parse(op.created_at) || Date.now());
}

/**
 * KEYS: a server's history. ARGV: score, member, the most entries kept. NX: an entry keeps its
 * first score, so entering it again (a retry, the create read later) never moves it. A script
 * rather than MULTI: one command on the wire, and no transaction state on a shared connection.
 */
const ADD_ENTRY = `
redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1))
return 1`;

async function addEntry(redis: Redis, keys: Keys, serverId: string, member: string, ms: number): Promise<void> {
  await luaScript(redis, 'peAddServerHistoryEntry', ADD_ENTRY, 1)(keys.serverHistory(serverId), String(scoreAt(ms)), member, String(SERVER_HISTORY_MAX));
}

/**
 * Appends a drift event about one server to the stream and enters it into the server's history
 * in one script, so the two cannot part. Both keys are declared: on a Redis Cluster they share
 * the engine's hash tag. A drift entry whose event the stream has since trimmed is dropped when
 * a read finds it missing.
 */
const APPEND_SERVER_EVENT = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, 4))
local ms = tonumber(string.match(id, '^(%d+)'))
redis.call('ZADD', KEYS[2], 'NX', ms * 1000 + tonumber(ARGV[2]), 'ev:' .. id)
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[3]) + 1))
return id
`;

export async function appendServerEvent(redis: Redis, keys: Keys, serverId: string, flat: string[], maxLen: string): Promise<string> {
  const append = luaScript(redis, 'peAppendServerEvent', APPEND_SERVER_EVENT, 2);
  return String(await append(keys.events(), keys.serverHistory(serverId), maxLen, String(Math.floor(Math.random() * 1000)), String(SERVER_HISTORY_MAX), ...flat));
}

/** Forgets removed operations in the histories of the servers they were on (the retention job). */
export async function forgetServerOperations(redis: Redis, keys: Keys, ops: ReadonlyArray<Pick<Operation, 'id' | 'type' | 'target' | 'result'>>): Promise<void> {
  const tx = redis.multi();
  let n = 0;
  for (const op of ops) {
    // A create is on the server it made (its result), the others on their target.
    const made = op.type === 'server.create' && typeof op.result?.server_id === 'string' ? op.result.server_id : null;
    const serverId = laneOf(op) ?? made;
    if (serverId) (tx.zrem(keys.serverHistory(serverId), OP + op.id), n++);
  }
  if (n > 0) await tx.exec();
  else tx.discard();
}

/** A server's history goes with its record (a deleted server has none to show). */
export async function dropServerHistory(redis: Redis, keys: Keys, serverId: string): Promise<void> {
  await redis.unlink(keys.serverHistory(serverId));
}

/** One thing that touched the server: an operation with its events (oldest first), or one drift event. */
export type HistoryEntry =
  | { kind: 'operation'; operation: Operation; events: EngineEvent[] }
  | { kind: 'drift'; event: EngineEvent };

export interface HistoryPage {
  /** Newest first. */
  entries: HistoryEntry[];
  /** Where the next (older) page starts; null on the last. */
  next: string | null;
}

/** Index entries one page reads at most to fill itself past ones whose operation or event is gone. */
const MAX_SCAN = 200;

/**
 * One page of what touched a server, newest first: up to `limit` entries (an operation with all
 * its events, or a drift event). `cursor` is the previous page's `next`.
 */
export async function serverHistory(ctx: CoreContext, server: ServerRecord, limit: number, cursor: string | null): Promise<HistoryPage> {
  const key = ctx.keys.serverHistory(server.id);
  if (!(await ctx.redis.exists(key))) await backfill(ctx, server);
  // The create is named by the record; entering it here also covers servers made before the
  // index. Once it is entered, a read only checks that it is.
  if (server.operation_id && (await ctx.redis.zscore(key, OP + server.operation_id)) === null) {
    const create = await ctx.store.get(server.operation_id);
    if (create) await addEntry(ctx.redis, ctx.keys, server.id, OP + create.id, Date.parse(create.created_at) || Date.now());
  }
  const entries: HistoryEntry[] = [];
  const stale: string[] = [];
  let max = cursor === null ? '+inf' : `(${cursor}`;
  let next: string | null = null;
  let scanned = 0;
  while (entries.length < limit && scanned < MAX_SCAN) {
    const want = Math.min(limit - entries.length, MAX_SCAN - scanned);
    const rows = await ctx.redis.zrevrangebyscore(key, max, '-inf', 'WITHSCORES', 'LIMIT', 0, want);
    if (rows.length === 0) {
      next = null;
      break;
    }
    // WITHSCORES: member, score, member, score, …
    const members: Array<{ member: string; score: string }> = [];
    for (let i = 0; i < rows.length; i += 2) members.push({ member: rows[i]!, score: rows[i + 1]! });
    scanned += members.length;
    const found = await readEntries(ctx, members.map((m) => m.member));
    members.forEach((m, i) => {
      const entry = found[i];
      if (entry) entries.push(entry);
      else stale.push(m.member);
    });
    const last = members[members.length - 1]!.score;
    max = `(${last}`;
    next = members.length < want ? null : last;
    if (next === null) break;
  }
  // An operation retention removed without telling the index, or a drift event trimmed from the stream.
  if (stale.length > 0) await ctx.redis.zrem(key, ...stale);
  return { entries, next };
}

/** Pages of the workspace's operation index a backfill reads at most (200 operations each). */
const BACKFILL_PAGES = 20;

/**
 * A server with no index yet (made before there was one) gets its operations entered from the
 * workspace's operation index, newest first, as far as BACKFILL_PAGES reach. Drift found before
 * the index existed is not recovered: the stream cannot be searched per server.
 */
async function backfill(ctx: CoreContext, server: ServerRecord): Promise<void> {
  let cursor: string | null = null;
  for (let page = 0; page < BACKFILL_PAGES; page++) {
    const listed: { items: Operation[]; next: string | null } = await ctx.store.list({ workspace: server.workspace, typePrefix: 'server.' }, 200, cursor);
    for (const op of listed.items) if (laneOf(op) === server.id) await indexServerOperation(ctx.redis, ctx.keys, op);
    cursor = listed.next;
    if (cursor === null) break;
  }
}

async function readEntries(ctx: CoreContext, members: string[]): Promise<Array<HistoryEntry | null>> {
  const opIds = members.filter((m) => m.startsWith(OP)).map((m) => m.slice(OP.length));
  const ops = new Map((await ctx.store.getMany(opIds)).map((op) => [op.id, op]));
  const histories = new Map(await Promise.all([...ops.keys()].map(async (id) => [id, await operationHistory(ctx.redis, ctx.keys, id)] as const)));
  const eventIds = members.filter((m) => m.startsWith(EV)).map((m) => m.slice(EV.length));
  const pipeline = ctx.redis.pipeline();
  for (const id of eventIds) pipeline.xrange(ctx.keys.events(), id, id);
  const replies = eventIds.length > 0 ? ((await pipeline.exec()) ?? []) : [];
  const events = new Map<string, EngineEvent>();
  eventIds.forEach((id, i) => {
    const entry = (replies[i]?.[1] as Array<[string, string[]]> | undefined)?.[0];
    if (entry) events.set(id, toEvent(entry[0], entry[1]));
  });
  return members.map((m) => {
    if (m.startsWith(OP)) {
      const op = ops.get(m.slice(OP.length));
      return op ? { kind: 'operation', operation: op, events: histories.get(op.id) ?? [] } : null;
    }
    const event = events.get(m.slice(EV.length));
    return event ? { kind: 'drift', event } : null;
  });
}

/**
 * The entries' events as one list, newest first. Entries are ordered by when they began, and an
 * operation's events can outlast the start of the next entry (a drift found while it ran), so
 * the page's events are put in stream order.
 */
export function flattenHistory(entries: HistoryEntry[]): EngineEvent[] {
  return entries.flatMap((e) => (e.kind === 'drift' ? [e.event] : e.events)).sort((a, b) => compareEventIds(b.id, a.id));
}
