import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { markerTag, type ProviderName, type ProviderServer, type ServerStatus } from '../../providers/types.js';
import type { Keys } from '../keys.js';

/**
 * The engine's inventory: one record per server it manages, kept current by the workers
 * after every create, action and delete.
 */
const MARKER_PREFIX = markerTag('');

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
  tags: string[];
  workspace: string;
  operation_id: string;
  created_at: string;
  updated_at: string;
}

/**
 * The same provider server always gets the same engine id, so writing it again after a
 * re-run is an update, never a second record.
 */
export function serverIdFor(provider: ProviderName, providerId: string): string {
  return 'srv-' + createHash('sha256').update(`${provider}:${providerId}`).digest('hex').slice(0, 12);
}

export interface ServerPage {
  items: ServerRecord[];
  next: string | null;
}

export class ServerInventory {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async upsert(server: ProviderServer, owner: { workspace: string; operationId: string }): Promise<ServerRecord> {
    const id = serverIdFor(server.provider, server.providerId);
    const existing = await this.get(id);
    const now = new Date().toISOString();
    const record: ServerRecord = {
      id,
      hostname: server.name,
      provider: server.provider,
      provider_id: server.providerId,
      plan: server.plan,
      zone: server.zone,
      image: server.image,
      ip_address: server.ipv4,
      status: server.status,
      // Markers are the engine's bookkeeping, not the user's tags.
      tags: server.tags.filter((t) => !t.startsWith(MARKER_PREFIX)),
      workspace: existing?.workspace ?? owner.workspace,
      operation_id: existing?.operation_id ?? owner.operationId,
      created_at: existing?.created_at ?? server.createdAt ?? now,
      updated_at: now,
    };
    const multi = this.redis.multi().set(this.keys.server(id), JSON.stringify(record));
    if (!existing) {
      const seq = await this.redis.incr(this.keys.serverSeq());
      multi.zadd(this.keys.serverIndex(), 'NX', seq, id);
    }
    await multi.exec();
    return record;
  }

  async get(id: string): Promise<ServerRecord | null> {
    const raw = await this.redis.get(this.keys.server(id));
    return raw ? (JSON.parse(raw) as ServerRecord) : null;
  }

  async remove(id: string): Promise<void> {
    await this.redis.multi().del(this.keys.server(id)).zrem(this.keys.serverIndex(), id).exec();
  }

  /** Newest first; the cursor is the position sequence of the last item returned. */
  async list(limit: number, cursor: string | null, filters: { workspace?: string; provider?: string } = {}): Promise<ServerPage> {
    const items: ServerRecord[] = [];
    let max = cursor === null ? '+inf' : `(${cursor}`;
    let lastSeq: string | null = null;
    const batch = Math.max(limit + 1, 50);
    for (;;) {
      const page = await this.redis.zrevrangebyscore(this.keys.serverIndex(), max, '-inf', 'WITHSCORES', 'LIMIT', '0', String(batch));
      if (page.length === 0) break;
      const ids = page.filter((_, i) => i % 2 === 0);
      const raws = await this.redis.mget(ids.map((id) => this.keys.server(id)));
      for (let i = 0; i < ids.length; i++) {
        const raw = raws[i];
        if (!raw) continue;
        const rec = JSON.parse(raw) as ServerRecord;
        if (filters.workspace && rec.workspace !== filters.workspace) continue;
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
