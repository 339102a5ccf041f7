import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export interface Me {
  kind: 'user' | 'api_key' | 'external';
  username: string;
  key_id: string | null;
  admin: boolean;
  workspaces: Record<string, string>;
  permissions: { global: string[]; workspaces: Record<string, string[]> };
}

export interface Session {
  me: Me;
  /** Whether the caller holds the permission in `workspace`, or in any workspace when none is named. */
  can(permission: string, workspace?: string): boolean;
  signOut(): void;
}

export function sessionFor(me: Me, signOut: () => void): Session {
  return {
    me,
    signOut,
    can(permission, workspace) {
      if (me.admin || me.permissions.global.includes(permission)) return true;
      if (workspace !== undefined) return (me.permissions.workspaces[workspace] ?? []).includes(permission);
      return Object.values(me.permissions.workspaces).some((perms) => perms.includes(permission));
    },
  };
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('no session');
  return s;
}

/** How the header names the caller's role. */
export function roleLabel(me: Me): string {
  if (me.admin) return 'global admin';
  const entries = Object.entries(me.workspaces);
  if (entries.length === 0) return 'no workspace';
  const roles = new Set(entries.map(([, r]) => r));
  if (roles.size === 1) return `${[...roles][0]} (${entries.map(([w]) => w).join(', ')})`;
  return entries.map(([w, r]) => `${w}: ${r}`).join(', ');
}
