import type { Redis } from 'ioredis';
import { EngineError, ErrorCodes, NotFoundError } from '../../common/errors.js';
import type { Keys } from '../keys.js';

/** Limits a workspace's servers may not pass together; absent ones do not apply. */
export interface Quotas {
  max_servers?: number;
  max_vcpus?: number;
  /** Per currency, from the catalogue's monthly prices: `{ "USD": 100, "EUR": 80 }`. */
  max_monthly_cost?: Record<string, number>;
}

/** A workspace as the API reference shows it, with its quotas. */
export interface WorkspaceRecord {
  name: string;
  path: string | null;
  active: boolean;
  last_used: string | null;
  created_at: string;
  quotas: Quotas;
}

/** `last_used` is written at most this often per workspace: a busy one would otherwise cost a write per submit. */
const TOUCH_EVERY_MS = 60_000;

/**
 * The tenants. A workspace exists before anything can be made in it: the names of WORKSPACES
 * are created at boot, any other through the API by an admin.
 */
export class WorkspaceStore {
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Creates the workspace unless it exists; false when it did. */
  async create(name: string, fields: { path?: string | null; active?: boolean } = {}): Promise<boolean> {
    const key = this.keys.workspace(name);
    const now = new Date().toISOString();
    const won = (await this.redis.hsetnx(key, 'created_at', now)) === 1;
    if (!won) return false;
    await this.redis
      .multi()
      .hset(key, { path: fields.path ?? '', active: fields.active === false ? '0' : '1', last_used: '', quotas: '{}' })
      .zadd(this.keys.workspaces(), '0', name)
      .exec();
    return true;
  }

  /** Creates it through the API: 409 when the name is taken. */
  async add(name: string, fields: { path?: string | null; active?: boolean }): Promise<WorkspaceRecord> {
    if (!(await this.create(name, fields))) throw new EngineError(ErrorCodes.WORKSPACE_EXISTS, `workspace '${name}' already exists`);
    return (await this.get(name))!;
  }

  async get(name: string): Promise<WorkspaceRecord | null> {
    const raw = await this.redis.hgetall(this.keys.workspace(name));
    return raw.created_at === undefined ? null : toRecord(name, raw);
  }

  async require(name: string): Promise<WorkspaceRecord> {
    const ws = await this.get(name);
    if (!ws) throw new NotFoundError(ErrorCodes.WORKSPACE_NOT_FOUND, `workspace '${name}' does not exist`);
    return ws;
  }

  async exists(name: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.workspace(name))) === 1;
  }

  /** The named workspaces, or every one (`null`), by name. */
  async list(only: readonly string[] | null): Promise<WorkspaceRecord[]> {
    const names = only === null ? await this.redis.zrange(this.keys.workspaces(), '0', '-1') : [...only].sort();
    const pipeline = this.redis.pipeline();
    for (const name of names) pipeline.hgetall(this.keys.workspace(name));
    const rows = (await pipeline.exec()) ?? [];
    return names.flatMap((name, i) => {
      const raw = rows[i]?.[1] as Record<string, string> | undefined;
      return raw?.created_at === undefined ? [] : [toRecord(name, raw)];
    });
  }

  async change(name: string, change: { path?: string | null; active?: boolean; quotas?: Quotas }): Promise<WorkspaceRecord> {
    await this.require(name);
    const fields: Record<string, string> = {};
    if (change.path !== undefined) fields.path = change.path ?? '';
    if (change.active !== undefined) fields.active = change.active ? '1' : '0';
    if (change.quotas !== undefined) fields.quotas = JSON.stringify(change.quotas);
    if (Object.keys(fields).length > 0) await this.redis.hset(this.keys.workspace(name), fields);
    return (await this.get(name))!;
  }

  async quotas(name: string): Promise<Quotas> {
    const raw = await this.redis.hget(this.keys.workspace(name), 'quotas');
    return raw ? (JSON.parse(raw) as Quotas) : {};
  }

  /** Notes that work was submitted in the workspace (`last_used`). */
  async touch(name: string): Promise<void> {
    const now = Date.now();
    if (now - (this.touched.get(name) ?? 0) < TOUCH_EVERY_MS) return;
    this.touched.set(name, now);
    await this.redis.hset(this.keys.workspace(name), 'last_used', new Date(now).toISOString());
  }
}

function toRecord(name: string, raw: Record<string, string>): WorkspaceRecord {
  return {
    name,
    path: raw.path ? raw.path : null,
    active: raw.active !== '0',
    last_used: raw.last_used ? raw.last_used : null,
    created_at: raw.created_at ?? '',
    quotas: raw.quotas ? (JSON.parse(raw.quotas) as Quotas) : {},
  };
}
