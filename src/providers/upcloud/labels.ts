/**
 * Engine tags ↔ UpCloud server labels.
 *
 * UpCloud has no free-form tags on servers, only labels, and a label key must be 2–32
 * letters, digits, `_` or `-` starting with a letter or digit, at most once per server.
 * Engine tags are up to 64 characters of letters, digits, `_`, `:` and `-`, so they are
 * stored like this, and read back into exactly the same tags:
 *
 *   marker `pe-op:<operation id>`   → { key: "pe-op", value: "<operation id>" }
 *   `env:prod` (key part valid)     → { key: "env", value: "prod" }
 *   `web` (a valid key, no colon)   → { key: "web", value: "" }
 *   anything else (`x`, `_a`, a key already used, …)
 *                                   → { key: "pe-tag-<n>", value: "<the whole tag>" }
 *
 * Keys starting with `pe-` belong to the engine, so a user tag never lands on one of them
 * directly. Labels set outside the engine read as `key` or `key:value` tags.
 */
import { markerTag } from '../../common/provider.js';

export interface UpCloudLabel {
  key: string;
  value: string;
}

export const MARKER_LABEL_KEY = 'pe-op';
const SPARE_KEY_PREFIX = 'pe-tag-';
const ENGINE_KEY_PREFIX = 'pe-';
const LABEL_KEY = /^[a-zA-Z0-9][a-zA-Z0-9_-]{1,31}$/;
const SPARE_KEY = /^pe-tag-\d+$/;

export function markerLabel(operationId: string): UpCloudLabel {
  return { key: MARKER_LABEL_KEY, value: operationId };
}

/** The labels a create sends: the operation's marker first, then one per distinct user tag. */
export function labelsForTags(tags: readonly string[], operationId: string): UpCloudLabel[] {
  const labels: UpCloudLabel[] = [markerLabel(operationId)];
  const usedKeys = new Set<string>([MARKER_LABEL_KEY]);
  const spares: string[] = [];
  for (const tag of new Set(tags)) {
    // The marker is already there; a caller that passes it as a tag gets it once.
    if (tag === markerTag(operationId)) continue;
    const direct = directLabel(tag);
    if (direct !== null && !usedKeys.has(direct.key)) {
      usedKeys.add(direct.key);
      labels.push(direct);
    } else {
      spares.push(tag);
    }
  }
  spares.forEach((tag, i) => labels.push({ key: `${SPARE_KEY_PREFIX}${i + 1}`, value: tag }));
  return labels;
}

/** The tags a server's labels stand for; the marker comes back as `markerTag(id)`. */
export function tagsFromLabels(labels: readonly UpCloudLabel[]): string[] {
  return labels.map(({ key, value }) => {
    if (key === MARKER_LABEL_KEY) return markerTag(value);
    if (SPARE_KEY.test(key)) return value;
    return value === '' ? key : `${key}:${value}`;
  });
}

/** `key` or `key:value` when that reads back as the same tag, else null. */
function directLabel(tag: string): UpCloudLabel | null {
  const colon = tag.indexOf(':');
  const key = colon < 0 ? tag : tag.slice(0, colon);
  const value = colon < 0 ? '' : tag.slice(colon + 1);
  // `key:` would read back as `key`, losing the colon.
  if (colon >= 0 && value === '') return null;
  if (!LABEL_KEY.test(key) || key.startsWith(ENGINE_KEY_PREFIX)) return null;
  return { key, value };
}
