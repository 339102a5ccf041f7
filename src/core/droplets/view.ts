import type { Operation } from '../operations/model.js';
import type { ServerRecord } from '../servers/inventory.js';
import { dropletIdForOperation, dropletIdForServer } from './ids.js';
import { dropletImage } from './images.js';

/** What a droplet's `status` can be. */
export const DROPLET_STATUSES = [
  'provisioning',
  'running',
  'starting',
  'stopping',
  'stopped',
  'rebooting',
  'resizing',
  'deleting',
  'busy',
  'error',
  'missing',
  'unknown',
] as const;

export type DropletStatus = (typeof DROPLET_STATUSES)[number];

/** A droplet as the droplets API answers it (droplets-kubevirt-api.md), with the engine's ids beside the seed's fields. */
export interface Droplet {
  id: string;
  project_id: string;
  name: string;
  image: string | null;
  plan_id: string;
  status: DropletStatus;
  public_ip: string | null;
  /** The engine's adapters read no private addresses: always null for now. */
  private_ip: string | null;
  region: string;
  tags: string[];
  /** The engine attaches no volumes: always empty. */
  volume_ids: string[];
  created_at: string;
  updated_at: string;
  provider: string;
  /** The engine's server id once the provider has made the server; null while it is being made. */
  server_id: string | null;
  /** The last engine operation known to change the droplet (its create, or what runs on it now). */
  operation_id: string;
}

const STATUS_OF_SERVER: Record<ServerRecord['status'], DropletStatus> = {
  provisioning: 'provisioning',
  running: 'running',
  starting: 'starting',
  stopping: 'stopping',
  stopped: 'stopped',
  busy: 'busy',
  gone: 'missing',
  unknown: 'unknown',
};

/** What a droplet is doing while an operation on it has not ended. */
function statusWhile(op: Operation): DropletStatus | null {
  if (op.status !== 'pending' && op.status !== 'running') return null;
  if (op.type === 'server.delete') return 'deleting';
  if (op.type === 'server.resize') return 'resizing';
  if (op.type === 'server.action') {
    const action = op.request.action;
    return action === 'reboot' ? 'rebooting' : action === 'power_off' ? 'stopping' : action === 'power_on' ? 'starting' : null;
  }
  return null;
}

/** A droplet the provider has made, as the inventory last saw it; `current` is an operation on it that has not ended. */
export function dropletOfServer(server: ServerRecord, current: Operation | null = null): Droplet {
  return {
    id: dropletIdForServer(server),
    project_id: server.workspace,
    name: server.hostname,
    image: dropletImage(server.provider, server.image),
    plan_id: server.plan,
    status: (current && statusWhile(current)) ?? STATUS_OF_SERVER[server.status] ?? 'unknown',
    public_ip: server.ip_address,
    private_ip: null,
    region: server.zone,
    tags: server.tags,
    volume_ids: [],
    created_at: server.created_at,
    updated_at: server.updated_at,
    provider: server.provider,
    server_id: server.id,
    operation_id: current?.id ?? server.operation_id,
  };
}

/** A droplet whose create has not made a server yet (or never will: failed or cancelled). */
export function dropletOfCreate(op: Operation): Droplet {
  const request = op.request as { hostname?: string; plan?: string; zone?: string; image?: string; tags?: string[] };
  return {
    id: dropletIdForOperation(op.id),
    project_id: op.workspace,
    name: request.hostname ?? '',
    image: dropletImage(op.provider, request.image ?? null),
    plan_id: request.plan ?? '',
    status: op.status === 'failed' || op.status === 'cancelled' ? 'error' : 'provisioning',
    public_ip: null,
    private_ip: null,
    region: request.zone ?? '',
    tags: request.tags ?? [],
    volume_ids: [],
    created_at: op.created_at,
    updated_at: op.updated_at,
    provider: op.provider,
    server_id: null,
    operation_id: op.id,
  };
}
