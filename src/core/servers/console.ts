import type { Provider, ProviderName } from '../../common/provider.js';
import type { Access } from '../auth/access.js';
import type { CoreContext } from '../context.js';
import { EngineError, ErrorCodes, ProviderNotConfiguredError, ValidationError } from '../../common/errors.js';
import { IDEMPOTENCY_HEADER } from '../idempotency.js';
import { PROVIDER_SETTING } from '../config.js';
import { getServer } from './requests.js';

const CONSOLE_TIMEOUT_MS = 20000;

/**
 * A console answer is a secret (the password, and the URL that carries a token) and is kept
 * nowhere, so there is nothing an Idempotency-Key could replay. Rather than ignore the header
 * and let a client believe its retry is safe to replay, a request carrying one is refused
 * before anything is asked of the provider. Retrying without it is harmless: each call opens
 * a new console session (Hetzner issues a new password).
 */
export function refuseIdempotencyKey(headers: Record<string, string | string[] | undefined>): void {
  if (headers[IDEMPOTENCY_HEADER.toLowerCase()] === undefined) return;
  throw new ValidationError([
    {
      field: `header.${IDEMPOTENCY_HEADER}`,
      problem: 'is not accepted here: the answer holds a console password, which is never kept, so it cannot be replayed; send the request without it (each call opens a new console session)',
    },
  ]);
}

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
