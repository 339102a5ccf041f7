/**
 * The in-process forms of the step contract, for callers that hold a worker slot anyway
 * (cleanup after a cancel or a deadline, tests): each drives an adapter's one-move steps and
 * polls their waits in this process. Adapters extend this once instead of each spelling it out.
 */
import { adapterErrors, driveSteps, waitInProcess, type InProcessTiming } from './adapter-kit.js';
import type { CallContext, PowerAction, ProviderName, ProviderServer, ServerWait, StepOutcome, WaitCheck } from '../common/provider.js';

export abstract class InProcessWaits {
  abstract readonly name: ProviderName;
  /** The provider's word for a server ("droplet", "instance"), for messages. */
  protected abstract readonly resourceWord: string;
  abstract getServer(providerId: string, ctx: CallContext): Promise<ProviderServer | null>;
  abstract checkWaits(waits: ServerWait[], ctx: CallContext): Promise<WaitCheck[]>;
  abstract deleteStep(providerId: string, ctx: CallContext): Promise<StepOutcome>;
  abstract powerStep(providerId: string, action: PowerAction, ctx: CallContext): Promise<StepOutcome>;
  abstract resizeStep(providerId: string, plan: string, startAfter: boolean, ctx: CallContext): Promise<StepOutcome>;
  protected abstract timing(): InProcessTiming;
  /** "droplet 123 to become active": what waitUntilRunning waits for. */
  protected abstract runningLabel(providerId: string): string;
  /** What waitUntilRunning says once the server runs. */
  protected abstract runningNote(server: ProviderServer): string;

  /**
   * Polls until the server runs. `since: 0`: in process the caller holds a slot anyway, so the
   * server's own actions are looked at from the first poll, not only once the wait runs long.
   */
  async waitUntilRunning(providerId: string, ctx: CallContext): Promise<ProviderServer> {
    const label = this.runningLabel(providerId);
    const server = await waitInProcess(this, { providerId, until: 'running', label, since: 0 }, ctx, this.timing());
    if (!server) throw this.notFound(providerId, `disappeared while waiting for ${label}`);
    ctx.onProgress?.(this.runningNote(server));
    return server;
  }

  async deleteServer(providerId: string, ctx: CallContext): Promise<{ existed: boolean }> {
    const [first] = await driveSteps(this, () => this.deleteStep(providerId, ctx), ctx, this.timing());
    return { existed: first?.existed !== false };
  }

  async powerAction(providerId: string, action: PowerAction, ctx: CallContext): Promise<ProviderServer> {
    await driveSteps(this, () => this.powerStep(providerId, action, ctx), ctx, this.timing());
    return this.currentServer(providerId, `disappeared during ${action}`, ctx);
  }

  async resize(providerId: string, plan: string, startAfter: boolean, ctx: CallContext): Promise<ProviderServer> {
    await driveSteps(this, () => this.resizeStep(providerId, plan, startAfter, ctx), ctx, this.timing());
    return this.currentServer(providerId, 'disappeared during the resize', ctx);
  }

  private async currentServer(providerId: string, what: string, ctx: CallContext): Promise<ProviderServer> {
    const server = await this.getServer(providerId, ctx);
    if (!server) throw this.notFound(providerId, what);
    return server;
  }

  private notFound(providerId: string, what: string) {
    return adapterErrors(this.name, this.resourceWord).notFound(providerId, what);
  }
}
