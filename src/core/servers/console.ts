import type { Provider, ProviderName } from '../../providers/types.js';
import type { Access } from '../auth/access.js';
import type { CoreContext } from '../context.js';
import { EngineError, ErrorCodes, ProviderNotConfiguredError } from '../errors.js';
import { PROVIDER_SETTING } from '../config.js';
import { getServer } from './requests.js';

const CONSOLE_TIMEOUT_MS = 20000;

/**
 * Console access is asked of the provider while the client waits: it changes nothing the
 * engine tracks, and its password must reach the caller without being stored anywhere.
 */
export async function requestServerConsole(ctx: CoreContext, providers: Map<ProviderName, Provider>, id: string, access: Access) {
  const server = await getServer(ctx, id, access, 'server_console');
  const provider = providers.get(server.provider);
  if (!provider) throw new ProviderNotConfiguredError(server.provider, PROVIDER_SETTING[server.provider]);
  if (!provider.supportsConsole) {
    throw new EngineError(ErrorCodes.CONSOLE_UNSUPPORTED, `${server.provider} offers no console access through its API`, { provider: server.provider });
  }
  const console = await provider.requestConsole(server.provider_id, { signal: AbortSignal.timeout(CONSOLE_TIMEOUT_MS) });
  return { server_id: server.id, provider: server.provider, ...console };
}
