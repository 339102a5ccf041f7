/**
 * What a logged provider request did, in the engine's terms: a create, a delete, or a power
 * action or resize of which server. Paths are the sandbox's, mount prefix included.
 */
import type { RequestLogEntry } from '../src/sandbox/request-counts.js';

export type RequestKind = 'create' | 'delete' | 'reboot' | 'power_off' | 'power_on' | 'resize' | 'other';

export interface ClassifiedRequest {
  entry: RequestLogEntry;
  provider: string;
  kind: RequestKind;
  /** The servers it acted on (none for a create). */
  providerIds: string[];
}

const DO_ACTIONS: Record<string, RequestKind> = { reboot: 'reboot', power_cycle: 'reboot', power_off: 'power_off', shutdown: 'power_off', power_on: 'power_on', resize: 'resize' };
const HETZNER_ACTIONS: Record<string, RequestKind> = { reboot: 'reboot', reset: 'reboot', poweroff: 'power_off', shutdown: 'power_off', poweron: 'power_on', change_type: 'resize' };
const VULTR_ACTIONS: Record<string, RequestKind> = { reboot: 'reboot', halt: 'power_off', start: 'power_on' };
const UPCLOUD_ACTIONS: Record<string, RequestKind> = { restart: 'reboot', stop: 'power_off', start: 'power_on' };

/** Whether the provider carried the request out: it answered 2xx (delivered or not). */
export function tookEffect(entry: RequestLogEntry): boolean {
  return entry.status !== null && entry.status >= 200 && entry.status < 300;
}

export function classify(entry: RequestLogEntry): ClassifiedRequest {
  const { method, path } = entry;
  const body = (entry.body ?? {}) as Record<string, any>;
  const of = (kind: RequestKind, providerIds: string[] = []): ClassifiedRequest => ({ entry, provider: entry.provider, kind, providerIds });
  let m: RegExpExecArray | null;
  switch (entry.provider) {
    case 'digitalocean':
      if (method === 'POST' && path === '/v2/droplets') return of('create');
      if (method === 'DELETE' && (m = /^\/v2\/droplets\/(\d+)$/.exec(path))) return of('delete', [m[1]!]);
      if (method === 'POST' && (m = /^\/v2\/droplets\/(\d+)\/actions$/.exec(path))) return of(DO_ACTIONS[String(body.type)] ?? 'other', [m[1]!]);
      break;
    case 'hetzner':
      if (method === 'POST' && path === '/hetzner/v1/servers') return of('create');
      if (method === 'DELETE' && (m = /^\/hetzner\/v1\/servers\/(\d+)$/.exec(path))) return of('delete', [m[1]!]);
      if (method === 'POST' && (m = /^\/hetzner\/v1\/servers\/(\d+)\/actions\/([a-z_]+)$/.exec(path))) return of(HETZNER_ACTIONS[m[2]!] ?? 'other', [m[1]!]);
      break;
    case 'vultr':
      if (method === 'POST' && path === '/vultr/v2/instances') return of('create');
      if (method === 'DELETE' && (m = /^\/vultr\/v2\/instances\/([^/]+)$/.exec(path))) return of('delete', [m[1]!]);
      if (method === 'POST' && (m = /^\/vultr\/v2\/instances\/([^/]+)\/(reboot|halt|start)$/.exec(path))) return of(VULTR_ACTIONS[m[2]!]!, [m[1]!]);
      if (method === 'POST' && (m = /^\/vultr\/v2\/instances\/(reboot|halt|start)$/.exec(path))) {
        return of(VULTR_ACTIONS[m[1]!]!, Array.isArray(body.instance_ids) ? body.instance_ids.map(String) : []);
      }
      if (method === 'PATCH' && (m = /^\/vultr\/v2\/instances\/([^/]+)$/.exec(path))) return of(body.plan ? 'resize' : 'other', [m[1]!]);
      break;
    case 'upcloud':
      if (method === 'POST' && path === '/upcloud/1.3/server') return of('create');
      if (method === 'DELETE' && (m = /^\/upcloud\/1\.3\/server\/([^/]+)$/.exec(path))) return of('delete', [m[1]!]);
      if (method === 'POST' && (m = /^\/upcloud\/1\.3\/server\/([^/]+)\/(restart|stop|start)$/.exec(path))) return of(UPCLOUD_ACTIONS[m[2]!]!, [m[1]!]);
      if (method === 'PUT' && (m = /^\/upcloud\/1\.3\/server\/([^/]+)$/.exec(path))) return of(body.server?.plan ? 'resize' : 'other', [m[1]!]);
      break;
  }
  return of('other');
}
