/**
 * What this droplet depends on and whether each is reachable now (`GET /dependencies`):
 * Redis is required (nothing works without it); the mesh registry is optional (the engine
 * provisions without it); each MESH_PEERS peer is required or optional as its entry says. A dependency that is reachable is listed under its class; one that
 * is unreachable or not configured is listed under `missing` instead, saying which.
 */
import type { Redis } from 'ioredis';
import type { DropletSettings } from '../config.js';
import { pingRedis } from '../redis.js';
import type { MeshPeer } from './peers.js';

/** How long one reachability check may take. */
export const REACH_TIMEOUT_MS = 1500;

export interface DependencyEntry {
  id: string;
  name: string;
  status: 'connected' | 'available' | 'unreachable' | 'not_configured';
  /** Where it is, for the registry. */
  url?: string;
  /** Whether the droplet needs it (on entries under `missing`). */
  required?: boolean;
}

export interface DependencyReport {
  required: DependencyEntry[];
  optional: DependencyEntry[];
  missing: DependencyEntry[];
  /** Ids of the dependencies reachable now. */
  connected: string[];
}

/** The dependencies' names, as `/health` and `/capabilities` list them. */
export function dependencyNames(settings: Pick<DropletSettings, 'registryUrl' | 'meshPeers'>): string[] {
  return [...(settings.registryUrl === null ? ['redis'] : ['redis', 'registry']), ...settings.meshPeers.map(peerId)];
}

/** A peer's id among the dependencies: its droplet id, as the seed lists connected droplets. */
export function peerId(peer: MeshPeer): string {
  return String(peer.id);
}

export async function redisReachable(redis: Redis): Promise<boolean> {
  return (await pingRedis(redis, REACH_TIMEOUT_MS)).ok;
}

/** Any HTTP answer from the registry's `/health` counts: it is there; a refused or silent connection does not. */
export async function httpReachable(baseUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(REACH_TIMEOUT_MS), redirect: 'manual' });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

export async function dependencyReport(redis: Redis, settings: Pick<DropletSettings, 'registryUrl' | 'meshPeers'>): Promise<DependencyReport> {
  const report: DependencyReport = { required: [], optional: [], missing: [], connected: [] };
  // Every check at once: the answer takes as long as the slowest, bounded by REACH_TIMEOUT_MS.
  const [redisOk, registryOk, peersOk] = await Promise.all([
    redisReachable(redis),
    settings.registryUrl === null ? Promise.resolve(false) : httpReachable(settings.registryUrl),
    Promise.all(settings.meshPeers.map((peer) => httpReachable(peer.url))),
  ]);
  if (redisOk) report.required.push({ id: 'redis', name: 'Redis', status: 'connected' });
  else report.missing.push({ id: 'redis', name: 'Redis', status: 'unreachable', required: true });
  if (settings.registryUrl === null) report.missing.push({ id: 'registry', name: 'Registry', status: 'not_configured', required: false });
  else if (registryOk) report.optional.push({ id: 'registry', name: 'Registry', status: 'available', url: settings.registryUrl });
  else report.missing.push({ id: 'registry', name: 'Registry', status: 'unreachable', url: settings.registryUrl, required: false });
  settings.meshPeers.forEach((peer, i) => {
    const entry = { id: peerId(peer), name: peer.name, url: peer.url };
    if (!peersOk[i]) report.missing.push({ ...entry, status: 'unreachable', required: peer.required });
    else (peer.required ? report.required : report.optional).push({ ...entry, status: 'available' });
  });
  report.connected = [...report.required, ...report.optional].map((d) => d.id);
  return report;
}
