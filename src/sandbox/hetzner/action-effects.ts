/**
 * What a Hetzner server action does to its server when it finishes.
 *
 * Effects are plain data rather than closures so an action still running can be written to
 * the sandbox state file and finish after a restart. Server types are referenced by name,
 * as in the API, and looked up when the effect is applied.
 */
import { findServerType } from './catalogue.js';
import type { HetznerServerRecord, HetznerServerStatus } from './store.js';

export type ServerActionEffect =
  | { kind: 'set_status'; status: HetznerServerStatus }
  /** change_type: the new type, the disk only when asked to grow it, and the server left off. */
  | { kind: 'change_type'; serverType: string; upgradeDisk: boolean }
  /** delete_server: the server disappears; the store removes it. */
  | { kind: 'remove' };

export const SERVER_ACTION_EFFECT_KINDS = ['set_status', 'change_type', 'remove'] as const satisfies ReadonlyArray<
  ServerActionEffect['kind']
>;

/** Applies an effect that changes the server in place; `remove` is the store's to handle. */
export function applyServerActionEffect(effect: ServerActionEffect, server: HetznerServerRecord): void {
  switch (effect.kind) {
    case 'set_status':
      server.status = effect.status;
      return;
    case 'change_type': {
      // The name was checked against the catalogue when the action was accepted (or restored).
      const type = findServerType(effect.serverType);
      if (type !== undefined) {
        server.serverType = type;
        if (effect.upgradeDisk) server.primaryDiskGb = type.disk;
      }
      server.status = 'off';
      return;
    }
    case 'remove':
      return;
  }
}
