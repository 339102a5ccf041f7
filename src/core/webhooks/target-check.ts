import { lookup } from 'node:dns/promises';
import { ValidationError } from '../../common/errors.js';
import { isPrivateAddress, literalAddress } from '../outbox/address-guard.js';

/** How long creating a webhook waits to resolve its host; a name that does not answer in time is checked again at each delivery. */
const RESOLVE_TIMEOUT_MS = 2000;

function refuse(problem: string): ValidationError {
  return new ValidationError([{ field: 'url', problem }]);
}

/**
 * A webhook's URL, checked when it is set: http or https, no credentials in it, and (unless
 * WEBHOOK_ALLOW_PRIVATE_TARGETS) no loopback, private or link-local address, whether written
 * as one or resolved from the name now. Each delivery resolves the name again, so a name
 * changed to point inward later is refused then.
 */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean): Promise<string> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse(`must use http or https, not ${url.protocol.replace(/:$/, '')}`);
  if (url.username || url.password) throw refuse('must not carry credentials; the signature authenticates the engine');
  if (url.hash) throw refuse('must not have a fragment');
  if (allowPrivate) return url.toString();
  const literal = literalAddress(url);
  if (literal !== null) {
    if (isPrivateAddress(literal)) throw refuse(`points at a loopback, private or link-local address (${literal})`);
    return url.toString();
  }
  const host = url.hostname.toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) throw refuse('points at this machine (localhost)');
  let timer: NodeJS.Timeout | undefined;
  const addresses = await Promise.race([
    lookup(host, { all: true }).catch(() => []),
    new Promise<[]>((resolve) => (timer = setTimeout(resolve, RESOLVE_TIMEOUT_MS, []))),
  ]).finally(() => clearTimeout(timer));
  const inward = addresses.find((a) => isPrivateAddress(a.address));
  if (inward) throw refuse(`resolves to a loopback, private or link-local address (${inward.address})`);
  return url.toString();
}
