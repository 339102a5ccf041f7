import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FieldProblem } from '../common/errors.js';

export type JsonSchema = Record<string, unknown>;
export type RequestPart = 'body' | 'query' | 'path';

// ajv-formats ships CommonJS with a default export.
const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;

function makeAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ allErrors: true, coerceTypes, useDefaults: true, strict: true, allowUnionTypes: true });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  ajv.addKeyword({ keyword: 'example' });
  return ajv;
}

// Bodies are JSON and must have the right types; query and path values arrive as strings.
const strict = makeAjv(false);
const coercing = makeAjv(true);

export function compile(schema: JsonSchema, part: RequestPart): ValidateFunction {
  if (part === 'body') return strict.compile(schema);
  const validate = coercing.compile(schema);
  // ajv coerces "Infinity", "-Infinity" and "1e400" to ±Infinity and then takes that for a
  // number, even an integer, within any minimum and maximum (its range checks skip values that
  // are not finite): `?limit=Infinity` reached Redis as a page size. Refused here instead.
  // (JSON bodies cannot hold Infinity but as 1e400, which ajv's own type check refuses.)
  const checked = ((data: unknown) => {
    const valid = validate(data);
    const infinite = nonFinite(data, '');
    checked.errors = infinite.length ? [...(validate.errors ?? []), ...infinite.map(finiteError)] : validate.errors;
    return valid && !infinite.length;
  }) as ValidateFunction;
  return checked;
}

/** The instance paths of the non-finite numbers in a query or path object (after coercion). */
function nonFinite(value: unknown, path: string): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [path];
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => nonFinite(v, `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`));
}

function finiteError(instancePath: string): ErrorObject {
  return { keyword: 'finite', instancePath, schemaPath: '', params: {}, message: 'must be a finite number' };
}

function describe(err: ErrorObject): string {
  switch (err.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a known field';
    case 'enum':
      return `must be one of: ${(err.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
    case 'type':
      return `must be ${(err.params as { type: string }).type === 'object' ? 'a JSON object' : `of type ${(err.params as { type: string }).type}`}`;
    case 'pattern':
      return `must match ${(err.params as { pattern: string }).pattern}`;
    case 'format':
      return `must be a valid ${(err.params as { format: string }).format}`;
    default:
      return err.message ?? 'is invalid';
  }
}

/** Turns ajv's errors into one problem per field, named the way the client sent it. */
export function toProblems(errors: ErrorObject[] | null | undefined, part: RequestPart): FieldProblem[] {
  const seen = new Set<string>();
  const problems: FieldProblem[] = [];
  for (const err of errors ?? []) {
    const params = err.params as { missingProperty?: string; additionalProperty?: string };
    const segments = err.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (params.missingProperty) segments.push(params.missingProperty);
    if (params.additionalProperty) segments.push(params.additionalProperty);
    const path = segments.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
    const field = part === 'body' ? path || 'body' : path ? `${part === 'path' ? 'path' : 'query'}.${path}` : part;
    const problem = describe(err);
    const key = `${field}|${problem}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ field, problem });
  }
  return problems;
}
