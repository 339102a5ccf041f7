/**
 * Server and action objects as Hetzner Cloud prints them (PROVIDERS.md §2.3, §2.6).
 * Server objects carry the top-level `location` and no `datacenter`, as after Hetzner's
 * 2026-07-01 change.
 */
import { imageJson, locationJson, serverTypeJson } from './catalogue.js';
import type { HetznerActionRecord, HetznerServerRecord } from './store.js';

const TB = 1024 ** 4;

/** ISO-8601 with an explicit offset, Hetzner's timestamp format: `2016-01-30T23:55:00+00:00`. */
export function hetznerTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

export function serverJson(s: HetznerServerRecord, locked: boolean): Record<string, unknown> {
  const a = s.addresses;
  return {
    id: s.id,
    name: s.name,
    status: s.status,
    created: hetznerTime(s.createdAt),
    public_net: {
      ipv4: a.ipv4 === null ? null : { id: a.ipv4.id, ip: a.ipv4.ip, blocked: false, dns_ptr: `static.${a.ipv4.ip}.clients.your-server.de` },
      ipv6: a.ipv6 === null ? null : { id: a.ipv6.id, ip: a.ipv6.ip, blocked: false, dns_ptr: [] },
      floating_ips: [],
      firewalls: [],
    },
    private_net: [],
    server_type: serverTypeJson(s.serverType),
    location: locationJson(s.location),
    image: imageJson(s.image),
    iso: null,
    rescue_enabled: false,
    locked,
    backup_window: null,
    outgoing_traffic: 0,
    ingoing_traffic: 0,
    included_traffic: s.serverType.includedTrafficTb * TB,
    protection: { delete: false, rebuild: false },
    labels: { ...s.labels },
    volumes: [],
    load_balancers: [],
    primary_disk_size: s.primaryDiskGb,
    placement_group: null,
  };
}

/**
 * An action is `running` until the store has settled it, so an action never shows as
 * finished before its effect on the server is visible in the same response. Progress
 * grows with the clock from when the action actually begins (a queued `start_server`
 * waits for `create_server`).
 */
export function actionJson(a: HetznerActionRecord, now: number): Record<string, unknown> {
  const status = a.settled ? a.outcome : 'running';
  return {
    id: a.id,
    command: a.command,
    status,
    progress: status === 'running' ? runningProgress(a, now) : 100,
    started: hetznerTime(a.startedAt),
    finished: status === 'running' ? null : hetznerTime(a.completesAt),
    resources: [{ id: a.serverId, type: 'server' }],
    error: status === 'error' ? { ...(a.error ?? { code: 'action_failed', message: 'Action failed' }) } : null,
  };
}

function runningProgress(a: HetznerActionRecord, now: number): number {
  const duration = a.completesAt - a.runsFrom;
  if (duration <= 0 || now <= a.runsFrom) return 0;
  return Math.min(99, Math.floor(((now - a.runsFrom) / duration) * 100));
}
