/**
 * The load: clients submitting a mix of operations at a steady rate, each under its own
 * Idempotency-Key, until enough were accepted. Server creates go to all four providers;
 * power actions, resizes and deletes pick servers from the inventory as the API lists it;
 * workflows create clusters and batches, delete clusters, and run a small custom graph.
 */
import { randomBytes } from 'node:crypto';
import type { EngineClient, KeyRecord, Ledger } from './client.js';
import type { ChaosSettings, Random } from './settings.js';
import { sleep } from './system.js';

type Provider = 'digitalocean' | 'hetzner' | 'vultr' | 'upcloud';

/** A plan and zone each simulated provider offers, and a bigger plan to resize to. */
export const PROVIDER_PLANS: Record<Provider, { plan: string; zone: string; biggerPlan: string }> = {
  digitalocean: { plan: 's-1vcpu-1gb', zone: 'nyc3', biggerPlan: 's-2vcpu-4gb' },
  hetzner: { plan: 'cx23', zone: 'fsn1', biggerPlan: 'cx33' },
  vultr: { plan: 'vc2-1c-1gb', zone: 'ewr', biggerPlan: 'vc2-2c-4gb' },
  upcloud: { plan: '1xCPU-1GB', zone: 'de-fra1', biggerPlan: '2xCPU-4GB' },
};
const PROVIDERS = Object.keys(PROVIDER_PLANS) as Provider[];

export const WORKSPACE = 'chaos';

interface InventoryServer {
  id: string;
  provider: Provider;
  plan: string;
  status: string;
  hostname: string;
}

export class Load {
  private readonly runId = randomBytes(3).toString('hex');
  private seq = 0;
  private inFlight = 0;
  private stopped = false;
  private servers: InventoryServer[] = [];
  /** Servers a delete was sent for: the load leaves them alone afterwards. */
  private readonly deleting = new Set<string>();
  private readonly clusters: string[] = [];
  private readonly running: Array<Promise<void>> = [];

  constructor(
    private readonly client: EngineClient,
    private readonly ledger: Ledger,
    private readonly settings: ChaosSettings,
    private readonly random: Random,
  ) {}

  private refresher: Promise<void> | null = null;

  /**
   * Submits requests until `settings.operations` were accepted or `maxLoadMs` passed. Resolves
   * when no new request will be sent; some may still be being retried (see drain()).
   */
  async issue(): Promise<void> {
    const started = Date.now();
    this.refresher = this.refreshInventory();
    const clients = Array.from({ length: this.settings.clients }, () => this.oneClient(started));
    await Promise.race([Promise.all(clients), this.accepted()]);
    this.stopped = true;
  }

  /** Waits for the requests still being retried to get their answers. */
  async drain(): Promise<void> {
    this.stopped = true;
    await this.refresher;
    await Promise.all(this.running);
  }

  /** Resolves once enough requests were accepted (clients still waiting on answers need not finish). */
  private async accepted(): Promise<void> {
    while (!this.stopped && this.ledger.acceptedCount < this.settings.operations) await sleep(200);
  }

  private enough(): boolean {
    return this.stopped || this.ledger.acceptedCount + this.inFlight >= this.settings.operations;
  }

  private async oneClient(started: number): Promise<void> {
    const interval = 1000 / this.settings.ratePerSecond;
    while (!this.enough() && Date.now() - started < this.settings.maxLoadMs) {
      // Tickets at a steady rate across all clients.
      const ticket = this.seq++;
      const due = started + ticket * interval;
      if (due > Date.now()) await sleep(due - Date.now());
      if (this.enough()) return;
      const record = this.next(ticket);
      this.ledger.add(record);
      this.inFlight++;
      const sent = this.client.submit(record, this.settings.requestPatienceMs).finally(() => this.inFlight--);
      this.running.push(sent);
      await sent;
    }
  }

  private async refreshInventory(): Promise<void> {
    while (!this.stopped) {
      try {
        this.servers = (await this.client.readAll<InventoryServer>(`/v1/servers?workspace=${WORKSPACE}`)).filter(
          (s) => (s.status === 'running' || s.status === 'stopped') && !this.deleting.has(s.id),
        );
      } catch {
        // The API or Redis is down for a moment; the last list will do.
      }
      await sleep(2000);
    }
  }

  private record(n: number, kind: string, method: string, path: string, body: unknown): KeyRecord {
    const key = `chaos-${this.runId}-${n}`;
    return { key, requestId: key, kind, method, path, body, attempts: [], operationIds: new Set(), final: null, finalBody: null };
  }

  private next(n: number): KeyRecord {
    const candidates = this.servers.filter((s) => !this.deleting.has(s.id));
    let kind = this.random.weighted(this.settings.mix);
    if (kind !== 'create' && kind !== 'workflow' && candidates.length === 0) kind = 'create';
    const provider = this.random.pick(PROVIDERS);
    const { plan, zone } = PROVIDER_PLANS[provider];
    switch (kind) {
      case 'create':
        return this.record(n, 'create', 'POST', '/v1/servers/create', {
          workspace: WORKSPACE, provider, plan, zone, hostname: `chaos-${n}`, check_mode: false, tags: ['chaos'],
        });
      case 'action': {
        const server = this.random.pick(candidates);
        const action = this.random.pick(['reboot', 'reboot', 'power_off', 'power_on'] as const);
        return this.record(n, `action.${action}`, 'POST', `/v1/servers/${server.id}/actions`, { action });
      }
      case 'resize': {
        const small = candidates.filter((s) => s.plan === PROVIDER_PLANS[s.provider].plan);
        const server = this.random.pick(small.length > 0 ? small : candidates);
        const to = server.plan === PROVIDER_PLANS[server.provider].biggerPlan ? PROVIDER_PLANS[server.provider].plan : PROVIDER_PLANS[server.provider].biggerPlan;
        return this.record(n, 'resize', 'PATCH', `/v1/servers/${server.id}`, { plan: to });
      }
      case 'delete': {
        const server = this.random.pick(candidates);
        this.deleting.add(server.id);
        return this.record(n, 'delete', 'DELETE', `/v1/servers/${server.id}`, undefined);
      }
      case 'workflow':
        return this.workflow(n, provider);
    }
  }

  private workflow(n: number, provider: Provider): KeyRecord {
    const { plan, zone } = PROVIDER_PLANS[provider];
    const onFailure = this.random.pick(['stop', 'continue', 'rollback'] as const);
    const roll = this.random.next();
    const submit = (type: string, parameters: Record<string, unknown>) =>
      this.record(n, `workflow.${type}`, 'POST', '/v1/workflows/submit', { workspace: WORKSPACE, workflow_type: type, parameters, on_failure: onFailure });
    if (roll < 0.2 && this.clusters.length > 0) {
      const name = this.clusters.splice(this.random.int(0, this.clusters.length - 1), 1)[0]!;
      return submit('cluster_delete', { cluster_name: name });
    }
    if (roll < 0.5) {
      const name = `cl-${n}`;
      this.clusters.push(name);
      return submit('cluster_create', { cluster_name: name, node_count: this.random.int(2, 3), provider, plan, zone, taskservs: [] });
    }
    if (roll < 0.75) return submit('server_batch_create', { provider, plan, zone, hostname_prefix: `batch-${n}`, count: 2 });
    return submit('custom', {
      steps: [
        { id: 'a', type: 'server.create', parameters: { provider, plan, zone, hostname: `dag-${n}` } },
        { id: 'b', type: 'server.action', depends_on: ['a'], parameters: { server_id: '${steps.a.result.server_id}', action: 'reboot' } },
        { id: 'c', type: 'server.action', depends_on: ['b'], parameters: { server_id: '${steps.a.result.server_id}', action: 'power_off' } },
      ],
    });
  }
}
