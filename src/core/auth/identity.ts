/**
 * Glossary
 * - principal: who makes a request: a user (logged in with a password, holding an access
 *   token), an API key (acting for the user who made it), or an external caller whose RS256
 *   token a trusted issuer signed (the mesh registry, through JWKS).
 * - workspace: a tenant. Every server, task service, workflow, operation, log, event and
 *   Idempotency-Key belongs to one. A principal is a member of some workspaces, with a role
 *   in each; a global admin is a member of all of them.
 * - identity: a principal as one request sees it, resolved afresh from the current records
 *   on every request (never from an old token's claims), so a demotion, a disabled user or a
 *   revoked key takes effect on the next request, on every API replica.
 * - peer droplet: another droplet of the mesh listed in MESH_PEERS; its own RS256 tokens
 *   (checked against its published keys) make it an external caller named `droplet:<name>`.
 */
import type { Role } from '../config.js';
import type { Permission } from './permissions.js';

export type PrincipalKind = 'user' | 'api_key' | 'external';

export interface Identity {
  kind: PrincipalKind;
  /** The user's name; for an API key its owner's name; for an external caller its `sub`. */
  username: string;
  /** The API key's id when an API key authenticated. */
  keyId?: string;
  /** The login session of the access token that authenticated, when one did (for logout). */
  session?: string;
  /** `admin` is a global admin: every workspace, every permission. */
  admin: boolean;
  /** Workspace name → the role held in it. Ignored for a global admin. */
  workspaces: Readonly<Record<string, Role>>;
  /** Permissions held apart from any workspace: a peer droplet's `mesh_message` (see peer-tokens.ts). */
  grants?: readonly Permission[];
}

/**
 * The role held in a workspace, from the identity's own entries only: memberships parsed from
 * JSON inherit Object.prototype, and a workspace named `constructor` must not find its entry.
 */
export function roleIn(workspaces: Readonly<Record<string, Role>>, name: string): Role | undefined {
  return Object.hasOwn(workspaces, name) ? workspaces[name] : undefined;
}

/** Who the audit log and `requested_by` name: `alice`, or `alice (key k_…)` for her API key. */
export function principalLabel(identity: Identity): string {
  return identity.keyId ? `${identity.username} (key ${identity.keyId})` : identity.username;
}

/** Whose Idempotency-Keys these are: each principal has its own, so no two callers share one. */
export function principalId(identity: Identity): string {
  if (identity.keyId) return `key:${identity.keyId}`;
  return identity.kind === 'external' ? `ext:${identity.username}` : identity.username;
}
