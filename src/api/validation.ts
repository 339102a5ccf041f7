import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FieldProblem } from '../core/errors.js';

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
  return (part === 'body' ? strict : coercing).compile(schema);
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
