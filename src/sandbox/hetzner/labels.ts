/**
 * Hetzner labels: the rules for keys and values, and the label selector query language
 * used by `?label_selector=` (PROVIDERS.md §2.2, Hetzner docs "Labels" / "Label Selector").
 *
 * Selector grammar, requirements joined by top-level commas (all must hold):
 *   k=v | k==v     k has value v
 *   k!=v           k is absent or has another value
 *   k              k is present
 *   !k             k is absent
 *   k in (a,b)     k has one of the values
 *   k notin (a,b)  k is absent or has none of the values
 * Negative forms match resources without the key, as in the Kubernetes selectors Hetzner's
 * language follows.
 */
import { type FieldError, invalidInput } from './errors.js';

export type Labels = Record<string, string>;

const NAME_PART = /^[a-zA-Z0-9]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_PART = 63;
const MAX_PREFIX = 253;
const RESERVED_PREFIX = 'hetzner.cloud';

/** Why a label key is invalid, or undefined when it is valid. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix === RESERVED_PREFIX) return `key '${key}' uses the reserved prefix '${RESERVED_PREFIX}/'`;
    if (prefix.length === 0 || prefix.length > MAX_PREFIX || !prefix.split('.').every((l) => DNS_LABEL.test(l))) {
      return `key '${key}' has an invalid prefix: it must be a DNS subdomain of at most ${MAX_PREFIX} characters`;
    }
  }
  if (name.length === 0 || name.length > MAX_PART || !NAME_PART.test(name)) {
    return `key '${key}' is invalid: the name must be 1-${MAX_PART} characters, start and end alphanumeric, with '-', '_', '.' between`;
  }
  return undefined;
}

/** Why a label value is invalid, or undefined when it is valid (empty is valid). */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > MAX_PART || !NAME_PART.test(value)) {
    return `value '${value}' is invalid: it must be empty or at most ${MAX_PART} characters, start and end alphanumeric, with '-', '_', '.' between`;
  }
  return undefined;
}

/** Checks a request's `labels` field; throws invalid_input naming every bad key and value. */
export function parseLabels(value: unknown, field = 'labels'): Labels {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidInput([{ name: field, messages: ['must be an object'] }]);
  const messages: string[] = [];
  const labels: Labels = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    if (typeof raw !== 'string') {
      messages.push(`value of '${key}' must be a string`);
      continue;
    }
    const problem = labelKeyProblem(key) ?? labelValueProblem(raw);
    if (problem !== undefined) messages.push(problem);
    else labels[key] = raw;
  }
  if (messages.length > 0) throw invalidInput([{ name: field, messages }]);
  return labels;
}

// ---- label selector ---------------------------------------------------------------------

type Requirement =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'exists' | 'absent'; key: string }
  | { op: 'in' | 'notin'; key: string; values: string[] };

export type LabelSelector = (labels: Labels) => boolean;

const SET_FORM = /^(\S+)\s+(in|notin)\s*\((.*)\)$/;
const EQUALITY_FORM = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/;

/** Parses a selector; throws invalid_input for the `label_selector` field when it is malformed. */
export function parseLabelSelector(source: string): LabelSelector {
  const requirements = splitTopLevel(source).map((part) => parseRequirement(part.trim()));
  return (labels) => requirements.every((r) => matches(r, labels));
}

function parseRequirement(text: string): Requirement {
  if (text === '') throw selectorError('it contains an empty requirement');
  const set = SET_FORM.exec(text);
  if (set) {
    const [, key, op, list] = set as unknown as [string, string, 'in' | 'notin', string];
    const values = list.split(',').map((v) => v.trim());
    if (values.some((v) => v === '')) throw selectorError(`the value list of '${key}' has an empty entry`);
    checkKey(key);
    for (const v of values) checkValue(v);
    return { op, key, values };
  }
  if (text.startsWith('!')) {
    const key = text.slice(1).trim();
    checkKey(key);
    return { op: 'absent', key };
  }
  const equality = EQUALITY_FORM.exec(text);
  if (equality) {
    const [, key, operator, rawValue] = equality as unknown as [string, string, string, string];
    const value = rawValue.trim();
    checkKey(key);
    checkValue(value);
    return { op: operator === '!=' ? 'neq' : 'eq', key, value };
  }
  checkKey(text);
  return { op: 'exists', key: text };
}

function matches(r: Requirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case 'eq':
      return has && value === r.value;
    case 'neq':
      return !has || value !== r.value;
    case 'exists':
      return has;
    case 'absent':
      return !has;
    case 'in':
      return has && r.values.includes(value as string);
    case 'notin':
      return !has || !r.values.includes(value as string);
  }
}

/** Splits on commas outside parentheses, so `k in (a,b),x` is two requirements. */
function splitTopLevel(source: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of source) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth < 0) throw selectorError("it has a ')' without a matching '('");
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (depth !== 0) throw selectorError("it has a '(' without a matching ')'");
  parts.push(current);
  return parts;
}

function checkKey(key: string): void {
  const problem = labelKeyProblem(key);
  if (problem !== undefined) throw selectorError(problem);
}

function checkValue(value: string): void {
  const problem = labelValueProblem(value);
  if (problem !== undefined) throw selectorError(problem);
}

function selectorError(why: string): ReturnType<typeof invalidInput> {
  const field: FieldError = { name: 'label_selector', messages: [`invalid label selector: ${why}`] };
  return invalidInput([field]);
}
