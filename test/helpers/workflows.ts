import type { TestSystem } from './system.js';

export interface StepView {
  id: string;
  type: string;
  operation_id: string | null;
  status: string;
  started_at: string | null;
  finished_at: string | null;
  result: any;
  error: any;
}

export interface WorkflowView {
  id: string;
  status: string;
  workflow_type: string;
  result: any;
  error: any;
  steps: StepView[];
  rollback: StepView[];
}

export async function submitWorkflow(sys: TestSystem, body: Record<string, unknown>): Promise<{ id: string; status: string }> {
  const res = await sys.request('POST', '/v1/workflows/submit', { body: { workspace: 'production', ...body } });
  if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function getWorkflow(sys: TestSystem, id: string): Promise<WorkflowView> {
  const res = await sys.request<WorkflowView>('GET', `/v1/workflows/${id}`);
  if (res.status !== 200) throw new Error(`GET workflow answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Polls until the workflow is completed, failed or cancelled. */
export function waitForWorkflow(sys: TestSystem, id: string, timeoutMs = 40000): Promise<WorkflowView> {
  return sys.eventually(async () => {
    const wf = await getWorkflow(sys, id);
    return ['completed', 'failed', 'cancelled'].includes(wf.status) ? wf : undefined;
  }, `workflow ${id} to finish`, timeoutMs);
}

export function step(wf: WorkflowView, id: string): StepView {
  const found = wf.steps.find((s) => s.id === id);
  if (!found) throw new Error(`no step ${id} in ${JSON.stringify(wf.steps)}`);
  return found;
}

export const DO_CREATE = { provider: 'digitalocean', plan: 's-1vcpu-1gb', zone: 'nyc3' };
