/**
 * The sandbox as the checks see it: over its own HTTP endpoints, never through the engine.
 * Fault rules through the admin API, every mutating request the providers received through
 * the request log, and each provider's servers through that provider's own listing, read
 * the way its API documents (DigitalOcean pages, Hetzner pages, Vultr cursors, UpCloud
 * offsets) with tags and labels turned back into the engine's operation markers.
 */
import type { FaultRule } from '../src/sandbox/faults.js';
import type { RequestLogEntry, RequestLogPage } from '../src/sandbox/request-counts.js';
import type { SandboxAddress } from './system.js';
import { sleep } from './system.js';

export type StatusClass = 'on' | 'off' | 'gone' | 'other';

export interface SandboxServer {
  provider: string;
  providerId: string;
  name: string;
  /** The provider's own status words, for messages. */
  status: string;
  statusClass: StatusClass;
  /** Operation ids of the engine markers it carries (DO/Vultr tag `pe-op:<id>`, Hetzner/UpCloud label `pe-op=<id>`). */
  markers: string[];
}

const MARKER_TAG = 'pe-op:';
const MARKER_LABEL = 'pe-op';

export class SandboxView {
  constructor(readonly address: SandboxAddress) {}

  private async request(method: string, url: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }> {
    // The providers' own rate limits apply to these reads too: wait out a 429.
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.address.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(20000),
      });
      const text = await res.text();
      if ((res.status === 429 || res.status >= 500) && attempt < 60) {
        const retryAfter = Number(res.headers.get('retry-after'));
        await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 10) * 1000 : 500);
        continue;
      }
      return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
    }
  }

  private admin(method: string, path: string, body?: unknown) {
    return this.request(method, `${this.address.url}/_sandbox${path}`, body);
  }

  async addFault(rule: FaultRule): Promise<string> {
    const res = await this.admin('POST', '/faults', rule);
    if (res.status !== 201) throw new Error(`adding a fault answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  }

  /** How many more requests a count-limited rule applies to (null: unlimited or gone). */
  async faultRemaining(id: string): Promise<number | null> {
    const res = await this.admin('GET', '/faults');
    const rule = (res.body?.faults as Array<{ id: string; remaining: number | null }> | undefined)?.find((f) => f.id === id);
    return rule?.remaining ?? null;
  }

  async removeFault(id: string): Promise<void> {
    await this.admin('DELETE', `/faults/${id}`);
  }

  async clearFaults(): Promise<void> {
    const res = await this.admin('DELETE', '/faults');
    if (res.status !== 204) throw new Error(`clearing faults answered ${res.status}`);
  }

  /** `GET /_sandbox/requests`, in one line: requests per provider, 429s, busiest minute. */
  async requestCounts(): Promise<string> {
    const res = await this.admin('GET', '/requests');
    const report = res.body as Record<string, Record<string, { requests: number; rate_limited: number; max_per_minute: number }>>;
    return Object.entries(report)
      .map(([provider, byCredential]) => {
        const all = Object.values(byCredential);
        const sum = (f: (c: (typeof all)[number]) => number) => all.reduce((n, c) => n + f(c), 0);
        return `${provider} ${sum((c) => c.requests)} (${sum((c) => c.rate_limited)} × 429, busiest minute ${Math.max(...all.map((c) => c.max_per_minute))})`;
      })
      .join(', ');
  }

  /** Every mutating request the providers received, oldest first. */
  async requestLog(): Promise<{ entries: RequestLogEntry[]; dropped: number }> {
    const entries: RequestLogEntry[] = [];
    let after = 0;
    let dropped = 0;
    for (;;) {
      const res = await this.admin('GET', `/requests/log?after=${after}`);
      if (res.status !== 200) throw new Error(`the request log answered ${res.status}: ${JSON.stringify(res.body)}`);
      const page = res.body as RequestLogPage;
      dropped = page.dropped;
      if (page.entries.length === 0) return { entries, dropped };
      entries.push(...page.entries);
      after = page.last;
    }
  }

  /** Every server of every provider, as each provider's API lists it. */
  async servers(): Promise<SandboxServer[]> {
    const [digitalocean, hetzner, vultr, upcloud] = await Promise.all([this.droplets(), this.hetznerServers(), this.vultrInstances(), this.upcloudServers()]);
    return [...digitalocean, ...hetzner, ...vultr, ...upcloud];
  }

  private async listing(what: string, url: string): Promise<any> {
    const res = await this.request('GET', url);
    if (res.status !== 200) throw new Error(`listing ${what} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  private async droplets(): Promise<SandboxServer[]> {
    const out: SandboxServer[] = [];
    for (let page = 1; ; page++) {
      const body = await this.listing('droplets', `${this.address.baseUrls.digitalocean}/droplets?per_page=200&page=${page}`);
      for (const d of body.droplets as Array<{ id: number; name: string; status: string; locked?: boolean; tags: string[] }>) {
        out.push({
          provider: 'digitalocean',
          providerId: String(d.id),
          name: d.name,
          status: d.status,
          statusClass: d.status === 'active' || d.status === 'new' ? 'on' : d.status === 'off' ? 'off' : d.status === 'archive' ? 'gone' : 'other',
          markers: markersFromTags(d.tags),
        });
      }
      if (!body.links?.pages?.next) return out;
    }
  }

  private async hetznerServers(): Promise<SandboxServer[]> {
    const out: SandboxServer[] = [];
    for (let page = 1; ; page++) {
      const body = await this.listing('Hetzner servers', `${this.address.baseUrls.hetzner}/servers?per_page=50&page=${page}`);
      for (const s of body.servers as Array<{ id: number; name: string; status: string; labels: Record<string, string> }>) {
        const on = ['running', 'initializing', 'starting', 'rebuilding', 'migrating'].includes(s.status);
        out.push({
          provider: 'hetzner',
          providerId: String(s.id),
          name: s.name,
          status: s.status,
          statusClass: on ? 'on' : s.status === 'off' || s.status === 'stopping' ? 'off' : s.status === 'deleting' ? 'gone' : 'other',
          markers: s.labels?.[MARKER_LABEL] ? [s.labels[MARKER_LABEL]] : [],
        });
      }
      if (!body.meta?.pagination?.next_page) return out;
    }
  }

  private async vultrInstances(): Promise<SandboxServer[]> {
    const out: SandboxServer[] = [];
    let cursor = '';
    do {
      const body = await this.listing('Vultr instances', `${this.address.baseUrls.vultr}/instances?per_page=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      for (const i of body.instances as Array<{ id: string; label: string; status: string; power_status: string; server_status: string; tags: string[] }>) {
        out.push({
          provider: 'vultr',
          providerId: i.id,
          name: i.label,
          status: `${i.status}/${i.power_status}/${i.server_status}`,
          statusClass: i.status === 'resizing' || i.server_status === 'locked' ? 'other' : i.power_status === 'running' ? 'on' : i.power_status === 'stopped' ? 'off' : 'other',
          markers: markersFromTags(i.tags),
        });
      }
      cursor = body.meta?.links?.next ?? '';
    } while (cursor);
    return out;
  }

  private async upcloudServers(): Promise<SandboxServer[]> {
    const out: SandboxServer[] = [];
    const limit = 100;
    for (let offset = 0; ; offset += limit) {
      const body = await this.listing('UpCloud servers', `${this.address.baseUrls.upcloud}/server?limit=${limit}&offset=${offset}`);
      const servers = body.servers.server as Array<{ uuid: string; hostname: string; title: string; state: string; labels: { label: Array<{ key: string; value: string }> } }>;
      for (const s of servers) {
        out.push({
          provider: 'upcloud',
          providerId: s.uuid,
          name: s.hostname,
          status: s.state,
          statusClass: s.state === 'started' ? 'on' : s.state === 'stopped' ? 'off' : 'other',
          markers: (s.labels?.label ?? []).filter((l) => l.key === MARKER_LABEL).map((l) => l.value),
        });
      }
      if (servers.length < limit) return out;
    }
  }
}

function markersFromTags(tags: readonly string[] | undefined): string[] {
  return (tags ?? []).filter((t) => t.startsWith(MARKER_TAG)).map((t) => t.slice(MARKER_TAG.length));
}

/** The operation marker a create request carried, read from its body as each provider takes it. */
export function markerOfCreate(entry: RequestLogEntry): string | null {
  const body = entry.body as any;
  if (body === null || typeof body !== 'object') return null;
  if (entry.provider === 'digitalocean' || entry.provider === 'vultr') {
    const tag = (body.tags as unknown[] | undefined)?.find((t): t is string => typeof t === 'string' && t.startsWith(MARKER_TAG));
    return tag ? tag.slice(MARKER_TAG.length) : null;
  }
  if (entry.provider === 'hetzner') return typeof body.labels?.[MARKER_LABEL] === 'string' ? body.labels[MARKER_LABEL] : null;
  const labels = body.server?.labels?.label as Array<{ key: string; value: string }> | undefined;
  return labels?.find((l) => l.key === MARKER_LABEL)?.value ?? null;
}
