/**
 * UpCloud server labels: the `{"labels":{"label":[{key,value}]}}` body field and the
 * repeated `?label=key` / `?label=key=value` list filter (PROVIDERS.md §4.2).
 *
 * Key and value rules are the ones UpCloud's own Terraform provider enforces before
 * calling the API: keys 2–32 characters of letters, digits, `_` and `-`, starting with a
 * letter or digit; values up to 255 characters; a key at most once per resource.
 */
import { badRequest } from './errors.js';

export interface UpCloudLabel {
  key: string;
  value: string;
}

const LABEL_KEY = /^[a-zA-Z0-9][a-zA-Z0-9_-]{1,31}$/;
const MAX_LABEL_VALUE = 255;

/** Reads a `labels` body field; absent or null means no labels. */
export function parseLabels(value: unknown): UpCloudLabel[] {
  if (value === undefined || value === null) return [];
  const list = typeof value === 'object' && !Array.isArray(value) ? (value as { label?: unknown }).label : undefined;
  if (!Array.isArray(list)) {
    throw badRequest('REQUEST_INVALID', 'labels must be an object holding a "label" list of {key, value}.', 'labels');
  }
  const labels: UpCloudLabel[] = [];
  for (const item of list) {
    const { key, value: labelValue } = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    if (typeof key !== 'string' || !LABEL_KEY.test(key)) {
      throw badRequest(
        'INVALID_LABEL_KEY',
        `The label key ${JSON.stringify(key)} is invalid: use 2-32 letters, digits, "_" or "-", starting with a letter or digit.`,
        'labels',
      );
    }
    if (typeof labelValue !== 'string' || labelValue.length > MAX_LABEL_VALUE) {
      throw badRequest('INVALID_LABEL_VALUE', `The value of label ${key} must be a string of at most ${MAX_LABEL_VALUE} characters.`, 'labels');
    }
    if (labels.some((l) => l.key === key)) {
      throw badRequest('DUPLICATE_LABEL_KEYS', `The label key ${key} is given more than once.`, 'labels');
    }
    labels.push({ key, value: labelValue });
  }
  return labels;
}

/** One `label` query value: `key` matches any value, `key=value` (split at the first `=`) only that value. */
export interface LabelFilter {
  key: string;
  value?: string;
}

export function parseLabelFilters(raw: unknown): LabelFilter[] {
  if (raw === undefined) return [];
  const values = Array.isArray(raw) ? raw : [raw];
  return values.map((entry) => {
    if (typeof entry !== 'string' || entry === '') {
      throw badRequest('REQUEST_INVALID', 'label filters must be "key" or "key=value".', 'label');
    }
    const eq = entry.indexOf('=');
    return eq < 0 ? { key: entry } : { key: entry.slice(0, eq), value: entry.slice(eq + 1) };
  });
}

/** Every filter must match (the filters are ANDed). */
export function matchesLabelFilters(labels: readonly UpCloudLabel[], filters: readonly LabelFilter[]): boolean {
  return filters.every((f) => labels.some((l) => l.key === f.key && (f.value === undefined || l.value === f.value)));
}
