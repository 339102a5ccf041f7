/**
 * The droplets this one talks to directly (MESH_PEERS): where each is, and where its public
 * keys are, so a message it signs can be verified and a message for it can be addressed by id
 * or by name.
 *
 *   MESH_PEERS=[{"id": 7, "name": "orchestrator", "url": "https://orch.example",
 *                "jwks_url": "https://orch.example/.well-known/jwks.json", "required": true}]
 *
 * `jwks_url` defaults to `<url>/.well-known/jwks.json`; `required` (default false) says
 * whether this droplet needs the peer, which /dependencies reports; `workspaces` (default
 * none), e.g. {"web": "operator"}, what the peer may do in them when it calls with its own token.
 */
import { ROLES, type DropletSettings, type Role } from '../config.js';

export interface MeshPeer {
  id: number;
  name: string;
  /** Base URL, no trailing slash. */
  url: string;
  jwksUrl: string;
  required: boolean;
  /**
   * What the peer may do here when it calls with a token of its own (auth/peer-tokens.ts):
   * it may always post to /message; in these workspaces it holds these roles (none by default).
   */
  workspaces: Readonly<Record<string, Role>>;
}

/** The name other modules use for a MESH_PEERS entry. */
export type Peer = MeshPeer;

const PEER_FIELDS = new Set(['id', 'name', 'url', 'jwks_url', 'required', 'workspaces']);
const WORKSPACE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const PEER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function httpUrl(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new Error(`${where} must be an http(s) URL`);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new Error(`${where} must be an http(s) URL, got '${value}'`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`${where} must be an http(s) URL, got '${value}'`);
  if (parsed.username || parsed.password) throw new Error(`${where} must not carry credentials in the URL`);
  return value.replace(/\/+$/, '');
}

/** `{"web": "operator"}`: workspace name → role; absent means none. */
function peerWorkspaces(value: unknown, where: string): Readonly<Record<string, Role>> {
  // No prototype: a workspace named `constructor` must not find Object.prototype's member.
  const workspaces = Object.create(null) as Record<string, Role>;
  if (value === undefined) return workspaces;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: workspaces must be an object of workspace name to role, like {"web": "operator"}`);
  for (const [name, role] of Object.entries(value)) {
    if (!WORKSPACE_NAME.test(name)) throw new Error(`${where}: workspaces names '${name}', which is not a valid workspace name`);
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) throw new Error(`${where}: workspaces.${name} must be one of ${ROLES.join(', ')}`);
    workspaces[name] = role as Role;
  }
  return Object.freeze(workspaces);
}

/** The peers MESH_PEERS lists; throws an Error saying what is wrong (config.ts names the setting). */
export function parseMeshPeers(raw: string | null): MeshPeer[] {
  if (raw === null) return [];
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    throw new Error('must be a JSON array of peers like [{"id": 7, "name": "orchestrator", "url": "http://…"}]');
  }
  if (!Array.isArray(list)) throw new Error('must be a JSON array of peers');
  const peers = list.map((entry: unknown, i): MeshPeer => {
    const where = `entry ${i + 1}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new Error(`${where} must be an object`);
    const e = entry as Record<string, unknown>;
    for (const field of Object.keys(e)) if (!PEER_FIELDS.has(field)) throw new Error(`${where} has unknown field '${field}' (expected ${[...PEER_FIELDS].join(', ')})`);
    if (typeof e.id !== 'number' || !Number.isInteger(e.id) || e.id < 0 || e.id > 2_147_483_647) throw new Error(`${where}: id must be a whole number from 0`);
    if (typeof e.name !== 'string' || !PEER_NAME.test(e.name)) throw new Error(`${where}: name must be 1-128 letters, digits, '.', '-' or '_'`);
    if (/^\d+$/.test(e.name)) throw new Error(`${where}: name must not be all digits (it would read as an id)`);
    const url = httpUrl(e.url, `${where}: url`);
    const jwksUrl = e.jwks_url === undefined ? `${url}/.well-known/jwks.json` : httpUrl(e.jwks_url, `${where}: jwks_url`);
    if (e.required !== undefined && typeof e.required !== 'boolean') throw new Error(`${where}: required must be true or false`);
    return { id: e.id, name: e.name, url, jwksUrl, required: e.required === true, workspaces: peerWorkspaces(e.workspaces, where) };
  });
  const ids = new Set<number>();
  const names = new Set<string>();
  for (const p of peers) {
    if (ids.has(p.id)) throw new Error(`lists id ${p.id} twice`);
    if (names.has(p.name)) throw new Error(`lists name '${p.name}' twice`);
    ids.add(p.id);
    names.add(p.name);
  }
  return peers;
}

/** The peer a message's `source` or `target` names: by id (a number or its digits) or by name. */
export function resolvePeer(config: { droplet: Pick<DropletSettings, 'meshPeers'> }, target: string | number): MeshPeer | null {
  const peers = config.droplet.meshPeers;
  if (typeof target === 'number') return peers.find((p) => p.id === target) ?? null;
  if (/^\d+$/.test(target)) return peers.find((p) => p.id === Number(target)) ?? null;
  return peers.find((p) => p.name === target) ?? null;
}
