import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { configuredProviders, PROVIDER_SETTING } from '../config.js';
import type { CoreContext } from '../context.js';
import { ProviderNotConfiguredError, ValidationError, type FieldProblem } from '../../common/errors.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../json-depth.js';
import type { ServerRecord } from '../servers/inventory.js';
import type { ProviderName } from '../../common/provider.js';
import { buildSteps } from './builtins.js';
import {
  FAILURE_POLICIES,
  STEP_TYPES,
  WORKFLOW_TYPES,
  type CompiledWorkflow,
  type StepType,
  type SubmitWorkflowBody,
  type WorkflowStep,
  type WorkflowType,
} from './model.js';
import { findReferences } from './references.js';
import { STEP_PARAMETER_SCHEMAS, WORKFLOW_PARAMETER_SCHEMAS } from './schemas.js';

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
const compiled = new Map<object, ValidateFunction>();
function check(schema: object, value: unknown, field: string): FieldProblem[] {
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
  return validate(value) ? [] : (validate.errors ?? []).map((e) => problem(e, field));
}

function problem(err: ErrorObject, base: string): FieldProblem {
  const p = err.params as { missingProperty?: string; additionalProperty?: string; allowedValues?: unknown[] };
  const segments = err.instancePath.split('/').slice(1);
  if (p.missingProperty) segments.push(p.missingProperty);
  if (p.additionalProperty) segments.push(p.additionalProperty);
  const field = base + segments.map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`)).join('');
  const text =
    err.keyword === 'required' ? 'is required'
    : err.keyword === 'additionalProperties' ? 'is not a known field'
    : err.keyword === 'enum' ? `must be one of: ${p.allowedValues!.join(', ')}`
    : (err.message ?? 'is invalid');
  return { field, problem: text };
}

function fail(problems: FieldProblem[]): never {
  throw new ValidationError(problems);
}

/**
 * Checks a submission and compiles it into the step list the workflow runs. Every problem
 * is a 400 naming the field; nothing is written until all of this has passed.
 */
export async function compileWorkflow(ctx: CoreContext, body: SubmitWorkflowBody): Promise<CompiledWorkflow> {
  if (!(WORKFLOW_TYPES as readonly string[]).includes(body.workflow_type)) {
    fail([{ field: 'workflow_type', problem: `unknown workflow type '${body.workflow_type}'; one of: ${WORKFLOW_TYPES.join(', ')}` }]);
  }
  const type = body.workflow_type as WorkflowType;
  const on_failure = body.on_failure ?? 'stop';
  if (!FAILURE_POLICIES.includes(on_failure)) fail([{ field: 'on_failure', problem: `must be one of: ${FAILURE_POLICIES.join(', ')}` }]);
  // The API refuses bodies nested past MAX_JSON_DEPTH as it parses them; checked again here so
  // no caller can overflow the stack in structuredClone (or the walks after it).
  if (exceedsJsonDepth(body.parameters, MAX_JSON_DEPTH - 1)) fail([{ field: 'parameters', problem: `is nested more than ${MAX_JSON_DEPTH - 1} levels deep` }]);
  const parameters = structuredClone(body.parameters ?? {});
  const shape = check(WORKFLOW_PARAMETER_SCHEMAS[type], parameters, 'parameters');
  if (shape.length) fail(shape);

  const steps = type === 'custom' ? checkCustomSteps(parameters) : await buildSteps(ctx, type, body.workspace, parameters);
  const servers = await checkServers(ctx, body.workspace, steps, type === 'custom');
  const providers = new Set<ProviderName>();
  for (const s of steps) if (s.type === 'server.create') providers.add(s.parameters.provider as ProviderName);
  for (const server of servers) providers.add(server.provider);
  for (const p of providers) {
    if (!configuredProviders(ctx.config).includes(p)) throw new ProviderNotConfiguredError(p, PROVIDER_SETTING[p]);
  }
  const first = steps.find((s) => s.type === 'server.create')?.parameters.provider as ProviderName | undefined;
  const provider = first ?? servers[0]?.provider;
  if (!provider) fail([{ field: 'parameters.steps', problem: 'must create a server or name an existing one, so the workflow has a provider' }]);
  return { request: { workflow_type: type, on_failure, parameters, steps }, provider };
}

/** A caller-supplied graph: unique ids, known types, valid parameters, known dependencies, no cycles. */
function checkCustomSteps(parameters: Record<string, unknown>): WorkflowStep[] {
  const steps = parameters.steps as WorkflowStep[];
  const problems: FieldProblem[] = [];
  const index = new Map<string, number>();
  steps.forEach((s, i) => {
    if (index.has(s.id)) problems.push({ field: `parameters.steps[${i}].id`, problem: `step id '${s.id}' is used twice` });
    else index.set(s.id, i);
  });
  steps.forEach((s, i) => {
    const at = `parameters.steps[${i}]`;
    if (!(STEP_TYPES as readonly string[]).includes(s.type)) {
      problems.push({ field: `${at}.type`, problem: `step '${s.id}': unknown step type '${s.type}'; one of: ${STEP_TYPES.join(', ')}` });
    } else {
      problems.push(...check(STEP_PARAMETER_SCHEMAS[s.type as StepType], s.parameters, `${at}.parameters`));
    }
    s.depends_on.forEach((d, j) => {
      if (!index.has(d)) problems.push({ field: `${at}.depends_on[${j}]`, problem: `step '${s.id}' depends on unknown step '${d}'` });
      if (d === s.id) problems.push({ field: `${at}.depends_on[${j}]`, problem: `step '${s.id}' depends on itself` });
    });
  });
  if (problems.length) fail(problems);

  const cycle = findCycle(steps);
  if (cycle) fail([{ field: `parameters.steps[${index.get(cycle[0]!)}].depends_on`, problem: `step '${cycle[0]}' is in a dependency cycle: ${cycle.join(' → ')}` }]);

  // A reference must point at a step that is certain to have finished first.
  const byId = new Map(steps.map((s) => [s.id, s]));
  const ancestors = (id: string, seen = new Set<string>()): Set<string> => {
    for (const d of byId.get(id)!.depends_on) if (!seen.has(d)) (seen.add(d), ancestors(d, seen));
    return seen;
  };
  steps.forEach((s, i) => {
    const before = ancestors(s.id);
    for (const ref of findReferences(s.parameters)) {
      const field = `parameters.steps[${i}].parameters.${ref.field}`;
      if (!byId.has(ref.step)) problems.push({ field, problem: `step '${s.id}' refers to unknown step '${ref.step}'` });
      else if (!before.has(ref.step)) problems.push({ field, problem: `step '${s.id}' refers to step '${ref.step}' but does not depend on it` });
    }
  });
  if (problems.length) fail(problems);
  return steps.map((s) => ({ id: s.id, type: s.type, depends_on: s.depends_on, parameters: s.parameters }));
}

/** The steps of a cycle (first repeated at the end), or null. */
function findCycle(steps: WorkflowStep[]): string[] | null {
  const deps = new Map(steps.map((s) => [s.id, s.depends_on]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | null => {
    if (state.get(id) === 'done') return null;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const d of deps.get(id) ?? []) {
      const found = visit(d);
      if (found) return found;
    }
    path.pop();
    state.set(id, 'done');
    return null;
  };
  for (const s of steps) {
    const found = visit(s.id);
    if (found) return found;
  }
  return null;
}

/** Literal server ids must name servers of this workspace that the inventory knows. */
async function checkServers(ctx: CoreContext, workspace: string, steps: WorkflowStep[], custom: boolean): Promise<ServerRecord[]> {
  const problems: FieldProblem[] = [];
  const found: ServerRecord[] = [];
  for (const [i, s] of steps.entries()) {
    const ids: Array<[string, unknown]> = [['server_id', s.parameters.server_id]];
    if (Array.isArray(s.parameters.servers)) s.parameters.servers.forEach((v, j) => ids.push([`servers[${j}]`, v]));
    for (const [name, value] of ids) {
      if (typeof value !== 'string' || !value.startsWith('srv-')) continue;
      const field = custom ? `parameters.steps[${i}].parameters.${name}` : 'parameters';
      const server = await ctx.inventory.get(value);
      // Another workspace's server is answered like one that does not exist: ids do not leak.
      if (!server || server.workspace !== workspace) problems.push({ field, problem: `server ${value} does not exist` });
      else found.push(server);
    }
  }
  if (problems.length) fail(problems);
  return found;
}
