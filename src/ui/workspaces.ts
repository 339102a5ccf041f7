import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { useSession } from './session.js';

/** The workspaces the caller may pick from: its memberships, or every workspace for a global admin. */
export function useWorkspaces(): string[] {
  const session = useSession();
  const [names, setNames] = useState<string[]>(Object.keys(session.me.workspaces));
  useEffect(() => {
    api<Array<{ name: string }>>('GET', '/v1/workspaces')
      .then((list) => setNames(list.map((w) => w.name)))
      .catch(() => undefined);
  }, []);
  return names;
}
