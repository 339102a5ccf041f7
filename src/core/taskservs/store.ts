import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ProviderName } from '../../common/provider.js';
import type { Keys } from '../keys.js';
import { luaScript, type ScriptRunner } from '../lua.js';

/** installing → running | failed; removing → (record deleted) | failed. */
export type TaskservStatus = 'installing' | 'running' | 'failed' | 'removing';

/** One task service installed (or being installed) on some servers of one workspace. */
export interface TaskservRecord {
  id: string;
  name: string;
  version: string;
  workspace: string;
  /** The queue its operations go through: the provider of the first server it was installed on. */
  provider: ProviderName;
  status: TaskservStatus;
  /** Hostnames, in the order of `server_ids`. */
  servers: string[];
  server_ids: string[];
  /** The validated parameters, defaults filled in: the remove script is rendered from them. */
  config: Record<string, unknown>;
  /** The last operation that changed it. */
  operation_id: string;
  created_at: string;
  updated_at: string;
}

/** One service per workspace: installing it again adds servers or changes its config, never a second record. */
export function taskservIdFor(workspace: string, name: string): string {
  return 'tsk-' + createHash('sha256').update(`${workspace}:${name}`).digest('hex').slice(0, 12);
}

/** ARGV: prefix, id, fields (JSON object of strings). Gives a new record its place in the listing. */
const SAVE_TASKSERV = `
local prefix, id = ARGV[1], ARGV[2]
local fields = cjson.decode(ARGV[3])
local sets = {}
for k, v in pairs(fields) do sets[#sets + 1] = k; sets[#sets + 1] = v end
redis.call('HSET', prefix .. ':tsk:' .. id, unpack(sets))
if not redis.call('ZSCORE', prefix .. ':tsks', id) then
  redis.call('ZADD', prefix .. ':tsks', redis.call('INCR', prefix .. ':tsks:seq'), id)
end
return 1`;

/** ARGV: prefix, id, status, operation_id, now. Changes a record that still exists, never makes a partial one. */
const SET_STATUS = `
local key = ARGV[1] .. ':tsk:' .. ARGV[2]
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSET', key, 'status', ARGV[3], 'operation_id', ARGV[4], 'updated_at', ARGV[5])
return 1`;

const JSON_FIELDS = new Set(['servers', 'server_ids', 'config']);

function decode(hash: Record<string, string>): TaskservRecord | null {
  if (!hash.id) return null;
  const record: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(hash)) record[k] = JSON_FIELDS.has(k) ? JSON.parse(v) : v;
  return record as unknown as TaskservRecord;
}

export class TaskservStore {
  private readonly saveScript: ScriptRunner;
  private readonly statusScript: ScriptRunner;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.saveScript = luaScript(redis, 'peSaveTaskserv', SAVE_TASKSERV);
    this.statusScript = luaScript(redis, 'peSetTaskservStatus', SET_STATUS);
  }

  async get(id: string): Promise<TaskservRecord | null> {
    return decode(await this.redis.hgetall(this.keys.taskserv(id)));
  }

  async save(record: TaskservRecord): Promise<void> {
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(record)) fields[k] = JSON_FIELDS.has(k) ? JSON.stringify(v) : String(v);
    await this.saveScript(this.keys.prefix, record.id, JSON.stringify(fields));
  }

  async setStatus(id: string, status: TaskservStatus, operationId: string): Promise<void> {
    await this.statusScript(this.keys.prefix, id, status, operationId, new Date().toISOString());
  }

  async remove(id: string): Promise<void> {
    await this.redis.multi().del(this.keys.taskserv(id)).zrem(this.keys.taskservIndex(), id).exec();
  }

  /** Newest first; the cursor is the listing position of the last item returned. */
  /** `workspaces`: only task services of these (null or absent: of any). */
  async list(limit: number, cursor: string | null, filters: { workspace?: string; workspaces?: readonly string[] | null } = {}): Promise<{ items: TaskservRecord[]; next: string | null }> {
    const visible = filters.workspaces ? new Set(filters.workspaces) : null;
    if (visible && visible.size === 0) return { items: [], next: null };
    const items: TaskservRecord[] = [];
    let max = cursor === null ? '+inf' : `(${cursor}`;
    let lastSeq: string | null = null;
    const batch = Math.max(limit + 1, 50);
    for (;;) {
      const page = await this.redis.zrevrangebyscore(this.keys.taskservIndex(), max, '-inf', 'WITHSCORES', 'LIMIT', '0', String(batch));
      if (page.length === 0) break;
      const ids = page.filter((_, i) => i % 2 === 0);
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hgetall(this.keys.taskserv(id));
      const hashes = ((await pipeline.exec()) ?? []).map(([, h]) => h as Record<string, string>);
      for (let i = 0; i < ids.length; i++) {
        const record = decode(hashes[i] ?? {});
        if (!record || (filters.workspace && record.workspace !== filters.workspace)) continue;
        if (visible && !visible.has(record.workspace)) continue;
        if (items.length === limit) return { items, next: lastSeq };
        items.push(record);
        lastSeq = page[i * 2 + 1]!;
      }
      if (ids.length < batch) break;
      max = `(${page[page.length - 1]}`;
    }
    return { items, next: null };
  }
}
