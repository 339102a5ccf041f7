import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ValidationError, type FieldProblem } from '../../common/errors.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../json-depth.js';
import type { TaskservDefinition } from './definition.js';

/**
 * Checks a task service's config against its parameter schema, filling in defaults. Same
 * options as the API's request validation (strict, every error, no type coercion), kept here
 * because the catalogue belongs to the core and the core does not import the API.
 */
const ajv = new Ajv({ allErrors: true, coerceTypes: false, useDefaults: true, strict: true, allowUnionTypes: true });
ajv.addKeyword({ keyword: 'example' });

const compiled = new Map<string, ValidateFunction>();

function validatorFor(def: TaskservDefinition): ValidateFunction {
  let validate = compiled.get(def.name);
  if (!validate) {
    validate = ajv.compile(def.parameters);
    compiled.set(def.name, validate);
  }
  return validate;
}

function problem(err: ErrorObject): FieldProblem {
  const params = err.params as { missingProperty?: string; additionalProperty?: string; allowedValues?: unknown[]; pattern?: string };
  const segments = err.instancePath.split('/').slice(1);
  if (params.additionalProperty) segments.push(params.additionalProperty);
  const field = ['config', ...segments].join('.');
  switch (err.keyword) {
    case 'additionalProperties':
      return { field, problem: 'is not a parameter of this service' };
    case 'enum':
      return { field, problem: `must be one of: ${params.allowedValues!.join(', ')}` };
    case 'pattern':
      return { field, problem: `must match ${params.pattern}` };
    default:
      return { field, problem: err.message ?? 'is invalid' };
  }
}

/** The config with every default filled in; a ValidationError naming `config.<parameter>` otherwise. */
export function checkTaskservConfig(def: TaskservDefinition, config: Record<string, unknown>): Record<string, unknown> {
  // The API refuses bodies nested past MAX_JSON_DEPTH as it parses them; checked again here so
  // no caller can overflow the stack in structuredClone.
  if (exceedsJsonDepth(config, MAX_JSON_DEPTH - 1)) throw new ValidationError([{ field: 'config', problem: `is nested more than ${MAX_JSON_DEPTH - 1} levels deep` }]);
  const copy = structuredClone(config);
  const validate = validatorFor(def);
  if (!validate(copy)) throw new ValidationError((validate.errors ?? []).map(problem));
  return copy;
}
