import type { CoreContext } from '../context.js';
import { secretBox } from '../secrets/secret-key.js';
import { engineKey } from './engine-key.js';
import { HostKeyPins } from './host-key-pins.js';
import { SshRunner } from './runner.js';

/** An SshRunner with the engine's key, its host key pins and the configured SSH settings. */
export async function engineSshRunner(ctx: CoreContext): Promise<SshRunner> {
  const key = await engineKey(ctx.redis, ctx.keys, ctx.config.ssh, secretBox(ctx.config));
  const { user, endpointOverride, connectTimeoutMs, connectAttempts } = ctx.config.ssh;
  return new SshRunner({
    privateKey: key.privateKey,
    user,
    endpointOverride,
    pins: new HostKeyPins(ctx.redis, ctx.keys),
    connectTimeoutMs,
    connectAttempts,
  });
}
