/**
 * What a DigitalOcean action does to its droplet when it completes.
 *
 * Effects are plain data rather than closures so an action still in progress can be
 * written to the sandbox state file and finish after a restart. Catalogue entries are
 * referenced by slug or id, as in the API, and looked up when the effect is applied.
 */
import { findImage, findSize } from './catalogue.js';
import type { DropletRecord } from './store.js';

export type DropletActionEffect =
  | { kind: 'set_status'; status: 'active' | 'off' }
  | { kind: 'rename'; name: string }
  | { kind: 'resize'; size: string; growDisk: boolean }
  | { kind: 'rebuild'; image: number }
  | { kind: 'enable_ipv6' }
  | { kind: 'set_backups'; enabled: boolean };

export const DROPLET_ACTION_EFFECT_KINDS = [
  'set_status',
  'rename',
  'resize',
  'rebuild',
  'enable_ipv6',
  'set_backups',
] as const satisfies ReadonlyArray<DropletActionEffect['kind']>;

export function applyDropletActionEffect(effect: DropletActionEffect, droplet: DropletRecord): void {
  switch (effect.kind) {
    case 'set_status':
      droplet.status = effect.status;
      return;
    case 'rename':
      droplet.name = effect.name;
      return;
    case 'resize': {
      // The slug was checked against the catalogue when the action was accepted (or restored).
      const size = findSize(effect.size);
      if (size === undefined) return;
      droplet.size = size;
      if (effect.growDisk) droplet.diskGb = size.disk;
      return;
    }
    case 'rebuild': {
      const image = findImage(effect.image);
      if (image !== undefined) droplet.image = image;
      return;
    }
    case 'enable_ipv6':
      droplet.ipv6 = true;
      return;
    case 'set_backups':
      droplet.backups = effect.enabled;
      return;
  }
}
