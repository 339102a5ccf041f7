/**
 * `${steps.<id>.result.<path>}` references: a step's parameter may take a value (a server
 * id, an IP) from an earlier step's result. A parameter that is exactly one reference keeps
 * the value's type; references inside a longer string are interpolated as text.
 */
const REFERENCE = /\$\{steps\.([A-Za-z0-9_-]+)\.result((?:\.[A-Za-z0-9_]+)+)\}/g;
const WHOLE = /^\$\{steps\.([A-Za-z0-9_-]+)\.result((?:\.[A-Za-z0-9_]+)+)\}$/;

export interface Reference {
  step: string;
  path: string[];
  /** Where in the parameters, e.g. `servers[0]`. */
  field: string;
}

function walk(value: unknown, field: string, visit: (s: string, field: string) => void): void {
  if (typeof value === 'string') visit(value, field);
  else if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${field}[${i}]`, visit));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, field ? `${field}.${k}` : k, visit);
}

export function findReferences(parameters: Record<string, unknown>): Reference[] {
  const found: Reference[] = [];
  walk(parameters, '', (s, field) => {
    for (const m of s.matchAll(REFERENCE)) found.push({ step: m[1]!, path: m[2]!.slice(1).split('.'), field });
  });
  return found;
}

export function isReference(value: unknown): boolean {
  return typeof value === 'string' && WHOLE.test(value);
}

/** Substitutes every reference; throws naming the first one that has no value. */
export function resolveReferences(parameters: Record<string, unknown>, results: (step: string) => Record<string, unknown> | null | undefined): Record<string, unknown> {
  const lookup = (step: string, path: string): unknown => {
    let value: unknown = results(step);
    for (const key of path.slice(1).split('.')) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    if (value === undefined || value === null) throw new Error(`\${steps.${step}.result${path}} has no value`);
    return value;
  };
  const resolve = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const whole = WHOLE.exec(value);
      if (whole) return lookup(whole[1]!, whole[2]!);
      return value.replace(REFERENCE, (_m, step: string, path: string) => String(lookup(step, path)));
    }
    if (Array.isArray(value)) return value.map(resolve);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
    return value;
  };
  return resolve(parameters) as Record<string, unknown>;
}
