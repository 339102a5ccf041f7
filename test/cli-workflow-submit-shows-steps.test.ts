import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { configureSandbox } from './helpers/cancel-cases.js';
import { cliSuite, shown } from './helpers/cli.js';
import { getWorkflow } from './helpers/workflows.js';

describe('pe workflows submit --wait shows every step live', () => {
  const cli = cliSuite({ workers: 1, doActiveDelayMs: 800, doActionDelayMs: 200 });

  test('a cluster from a YAML file: each step with its operation and its status changes, then the workflow; exit 0', async () => {
    const file = join(cli.home.dir, 'cluster.yaml');
    writeFileSync(
      file,
      ['workspace: production', 'workflow_type: cluster_create', 'parameters:', '  cluster_name: demo', '  node_count: 2', '  provider: digitalocean', '  plan: s-1vcpu-1gb', '  zone: nyc3', '  taskservs: []', ''].join('\n'),
    );
    const r = await cli.home.run(['workflows', 'submit', '-f', file, '--wait']);
    assert.equal(r.code, 0, shown(r));
    const id = /^workflow (\S+)$/m.exec(r.stdout)?.[1];
    assert.ok(id, shown(r));
    const wf = await getWorkflow(cli.sys, id);
    assert.equal(wf.status, 'completed');
    const lines = r.stdout.split('\n');
    for (const step of wf.steps) {
      // Every status the step went through, in order, each naming its operation.
      const mine = lines.filter((l) => new RegExp(`step ${step.id}\\s+server\\.create\\s+`).test(l));
      const reached = mine.map((l) => /(?:→ )?(pending|running|completed)\s+\S+$/.exec(l)?.[1]);
      assert.ok(reached.includes('running') && reached.at(-1) === 'completed', `${step.id}: ${mine.join(' | ')}\n${shown(r)}`);
      // Before it starts a step has no operation yet ("waiting"); from then on each line names it.
      assert.ok(mine.filter((l) => !/\swaiting$/.test(l)).every((l) => l.includes(step.operation_id!)), `each line names the step's operation ${step.operation_id}\n${shown(r)}`);
      assert.ok(lines.some((l) => new RegExp(`step ${step.id}\\s+(creating|waiting)`).test(l)), `a progress message of ${step.id}\n${shown(r)}`);
    }
    const running = lines.findIndex((l) => /workflow\s+running/.test(l));
    const firstDone = lines.findIndex((l) => /step node-\d\s+server\.create\s+running → completed/.test(l));
    const finished = lines.findIndex((l) => /workflow\s+completed/.test(l));
    assert.ok(running >= 0 && running < firstDone && firstDone < finished, `in the order it happened\n${shown(r)}`);
    // The summary at the end: the workflow and a table of its steps.
    assert.match(r.stdout, /^STEP\s+TYPE\s+STATUS\s+OPERATION\s+TOOK\s+RESULT$/m);
    assert.match(r.stdout, /^node-1\s+server\.create\s+completed\s+\S+\s+\S+\s+srv-[0-9a-f]{12} demo-1/m);

    const get = await cli.home.run(['workflows', 'get', id, '-o', 'json']);
    assert.equal(get.code, 0, shown(get));
    assert.deepEqual(JSON.parse(get.stdout).steps.map((s: { id: string }) => s.id), ['node-1', 'node-2']);
    const list = await cli.home.run(['workflows', 'list', '--workspace', 'production']);
    assert.equal(list.code, 0, shown(list));
    assert.match(list.stdout, new RegExp(`^${id}\\s+workflow\\.cluster_create\\s+completed`, 'm'));
  });

  test('-o json with a JSON file: the progress on stderr, the finished workflow on stdout; a failed step fails it with exit 1', async () => {
    await configureSandbox(cli.sys, 'digitalocean', { dropletLimit: 0 });
    try {
      const file = join(cli.home.dir, 'batch.json');
      writeFileSync(file, JSON.stringify({ workflow_type: 'server_batch_create', parameters: { provider: 'digitalocean', plan: 's-1vcpu-1gb', zone: 'nyc3', hostname_prefix: 'batch', count: 2 } }));
      const r = await cli.home.run(['workflows', 'submit', '-f', file, '--workspace', 'production', '--wait', '-o', 'json']);
      assert.equal(r.code, 1, shown(r));
      const wf = JSON.parse(r.stdout);
      assert.equal(wf.status, 'failed');
      assert.equal(wf.workspace, 'production');
      assert.match(r.stderr, /step server-1\s+server\.create\s+.*failed\s+\S+\s+PROVIDER_\w+: /, shown(r));
    } finally {
      await configureSandbox(cli.sys, 'digitalocean', { dropletLimit: 1000 });
    }
  });

  test('a workflow file that is not valid says so and exits 2; the API\'s objection names the field', async () => {
    const bad = join(cli.home.dir, 'bad.yaml');
    writeFileSync(bad, 'workflow_type: [unclosed\n');
    const r = await cli.home.run(['workflows', 'submit', '-f', bad]);
    assert.equal(r.code, 2, shown(r));
    assert.match(r.stderr, /bad\.yaml is not valid YAML/);
    const missing = await cli.home.run(['workflows', 'submit', '-f', join(cli.home.dir, 'nope.yaml')]);
    assert.equal(missing.code, 2, shown(missing));
    assert.match(missing.stderr, /cannot read .*nope\.yaml: no such file/);

    const wrong = join(cli.home.dir, 'wrong.yaml');
    writeFileSync(wrong, 'workflow_type: cluster_create\nparameters:\n  cluster_name: x\n  node_count: 500\n  provider: digitalocean\n  plan: s-1vcpu-1gb\n  zone: nyc3\n');
    const refused = await cli.home.run(['workflows', 'submit', '-f', wrong, '--workspace', 'production', '--wait']);
    assert.equal(refused.code, 5, shown(refused));
    assert.match(refused.stderr, /parameters\.node_count: /);
  });
});
