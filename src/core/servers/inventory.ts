import * as crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { markerTag, type ProviderName, type ProviderServer, type ServerStatus } from '../../common/provider.js';
import type { Keys } from '../keys.js';
import { luaScript, type ScriptRunner } from '../lua.js';
import { JOIN_LANE_FUNCTION } from '../operations/scripts.js';

/**
 * The engine's inventory: one record per server it manages, kept current by the workers
 * after every create, action and delete.
 */
export interface ServerRecord {
  id: string;
  hostname: string;
  provider: ProviderName;
  provider_id: string;
  plan: string;
  zone: string;
  image: string | null;
  ip_address: string | null;
  status: ServerStatus;
  /** The provider's own word for the status, when it said one. */
  provider_status: string | null;
  tags: string[];
  workspace: string;
  operation_id: string;
  created_at: string;
  updated_at: string;
}

const MARKER_PREFIX = markerTag('');

/**
 * ARGV: prefix, id, fields (JSON object of strings that the provider owns), workspace,
 * operation_id, created_at. Who owns a server and when it appeared are written once; the
 * first write also gives it its place in the listing. Returns the whole hash.
 */
const UPSERT_SERVER = `
local prefix, id = ARGV[1], ARGV[2]
local key = prefix .. ':srv:' .. id
local fields = cjson.decode(ARGV[3])
local sets = {}
for k, v in pairs(fields) do sets[#sets + 1] = k; sets[#sets + 1] = v end
redis.call('HSET', key, unpack(sets))
redis.call('HSETNX', key, 'workspace', ARGV[4])
redis.call('HSETNX', key, 'operation_id', ARGV[5])
if redis.call('HSETNX', key, 'created_at', ARGV[6]) == 1 then
  redis.call('ZADD', prefix .. ':srvs', redis.call('INCR', prefix .. ':srvs:seq'), id)
end
return redis.call('HGETALL', key)`;

// UPSERT_SERVER's ARGV, after the operation that made the server (ARGV[5]) joins its lane (the
// server's id, ARGV[2]; see JOIN_LANE_FUNCTION): first in the lane before the inventory shows the server.
const JOIN_LANE_AND_UPSERT_SERVER = `
${JOIN_LANE_FUNCTION}
join_lane(ARGV[1], ARGV[5], ARGV[2])
${UPSERT_SERVER}`;

// The one-shot digest where there is one (Node 20.12+): several run per operation, and a Hash
// object each costs more than the digest itself.
const sha256Hex = (text: string): string =>
  typeof crypto.hash === 'function' ? crypto.hash('sha256', text, 'hex') : crypto.createHash('sha256').update(text).digest('hex');

/**
 * The same provider server always gets the same engine id, so writing it again after a
 * re-run is an update, never a second record.
 */
export function serverIdFor(provider: ProviderName, providerId: string): string {
  return 'srv-' + sha256Hex(`${provider}:${providerId}`).slice(0, 12);
}

function decode(hash: Record<string, string>): ServerRecord | null {
  if (!hash.id) return null;
  return {
    id: hash.id,
    hostname: hash.hostname!,
    provider: hash.provider as ProviderName,
    provider_id: hash.provider_id!,
    plan: hash.plan!,
    zone: hash.zone!,
    image: hash.image || null,
    ip_address: hash.ip_address || null,
    status: hash.status as ServerStatus,
    provider_status: hash.provider_status || null,
    tags: JSON.parse(hash.tags ?? '[]') as string[],
    workspace: hash.workspace!,
    operation_id: hash.operation_id!,
    created_at: hash.created_at!,
    updated_at: hash.updated_at!,
  };
}

function pairsToHash(flat: string[]): Record<string, string> {
  const hash: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
  return hash;
}

export interface ServerPage {
  items: ServerRecord[];
  next: string | null;
}

export class ServerInventory {
  private readonly upsertScript: ScriptRunner;
  private readonly joinLaneAndUpsertScript: ScriptRunner;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.upsertScript = luaScript(redis, 'peUpsertServer', UPSERT_SERVER);
    this.joinLaneAndUpsertScript = luaScript(redis, 'peJoinLaneAndUpsertServer', JOIN_LANE_AND_UPSERT_SERVER);
  }

  /**
   * Records what the provider says of a server, in one round trip. With `joinLane`, the owner
   * operation (the create that made the server) first joins the server's lane in the same script.
   */
  async upsert(server: ProviderServer, owner: { workspace: string; operationId: string }, opts: { joinLane?: boolean } = {}): Promise<ServerRecord> {
    const id = serverIdFor(server.provider, server.providerId);
    const now = new Date().toISOString();
    const fields = {
      id,
      hostname: server.name,
      provider: server.provider,
      provider_id: server.providerId,
      plan: server.plan,
      zone: server.zone,
      // A read that could not tell the image (UpCloud's watcher does not look up boot disks)
      // leaves the one recorded from the create alone.
      ...(server.image !== null ? { image: server.image } : {}),
      ip_address: server.ipv4 ?? '',
      status: server.status,
      provider_status: server.providerStatus ?? '',
      // Markers are the engine's bookkeeping, not the user's tags.
      tags: JSON.stringify(server.tags.filter((t) => !t.startsWith(MARKER_PREFIX))),
      updated_at: now,
    };
    const script = opts.joinLane ? this.joinLaneAndUpsertScript : this.upsertScript;
    const flat = (await script(this.keys.prefix, id, JSON.stringify(fields), owner.workspace, owner.operationId, server.createdAt || now)) as string[];
    return decode(pairsToHash(flat))!;
  }

  async get(id: string): Promise<ServerRecord | null> {
    return decode(await this.redis.hgetall(this.keys.server(id)));
  }

  /** A server the provider no longer has; kept, so the drift shows until someone deletes it. */
  async markGone(id: string): Promise<void> {
    await this.redis.hset(this.keys.server(id), 'status', 'gone', 'provider_status', '', 'ip_address', '', 'updated_at', new Date().toISOString());
  }

  /** Every server of one provider; the reconcile compares them with the provider's list. */
  async allOf(provider: ProviderName): Promise<ServerRecord[]> {
    const all: ServerRecord[] = [];
    let cursor: string | null = null;
    do {
      const page: ServerPage & { next: string | null } = await this.list(200, cursor, { provider });
      all.push(...page.items);
      cursor = page.next;
    } while (cursor !== null);
    return all;
  }

  /**
   * The servers of one provider whose first record was written by `operationId` (a create's
   * own entry). Reads every entry of the provider: for the rare cleanup that finds nothing
   * else to go by.
   */
  async writtenFirstBy(provider: ProviderName, operationId: string): Promise<ServerRecord[]> {
    return (await this.allOf(provider)).filter((r) => r.operation_id === operationId);
  }

  async remove(id: string): Promise<void> {
    // Its history (servers/history.ts) goes with it: a deleted server has no events to show.
    await this.redis.multi().del(this.keys.server(id)).zrem(this.keys.serverIndex(), id).unlink(this.keys.serverHistory(id)).exec();
  }

  /** Newest first; the cursor is the position sequence of the last item returned. */
  /** Every server of one workspace, page by page. */
  async allIn(workspace: string): Promise<ServerRecord[]> {
    const all: ServerRecord[] = [];
    let cursor: string | null = null;
    do {
      const page: ServerPage = await this.list(200, cursor, { workspace });
      all.push(...page.items);
      cursor = page.next;
    } while (cursor !== null);
    return all;
  }

  /** `workspaces`: only servers of these (null or absent: of any). */
  async list(limit: number, cursor: string | null, filters: { workspace?: string; provider?: string; workspaces?: readonly string[] | null } = {}): Promise<ServerPage> {
    const visible = filters.workspaces ? new Set(filters.workspaces) : null;
    if (visible && visible.size === 0) return { items: [], next: null };
    const items: ServerRecord[] = [];
    let max = cursor === null ? '+inf' : `(${cursor}`;
    let lastSeq: string | null = null;
    const batch = Math.max(limit + 1, 50);
    for (;;) {
      const page = await this.redis.zrevrangebyscore(this.keys.serverIndex(), max, '-inf', 'WITHSCORES', 'LIMIT', '0', String(batch));
      if (page.length === 0) break;
      const ids = page.filter((_, i) => i % 2 === 0);
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hgetall(this.keys.server(id));
      const hashes = ((await pipeline.exec()) ?? []).map(([, h]) => h as Record<string, string>);
      for (let i = 0; i < ids.length; i++) {
        const rec = decode(hashes[i] ?? {});
        if (!rec) continue;
        if (filters.workspace && rec.workspace !== filters.workspace) continue;
        if (visible && !visible.has(rec.workspace)) continue;
        if (filters.provider && rec.provider !== filters.provider) continue;
        if (items.length === limit) return { items, next: lastSeq };
        items.push(rec);
        lastSeq = page[i * 2 + 1]!;
      }
      if (ids.length < batch) break;
      max = `(${page[page.length - 1]}`;
    }
    return { items, next: null };
  }
}
