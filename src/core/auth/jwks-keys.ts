/**
 * The RS256 public keys one JWKS endpoint publishes, as every verifier here reads them: the
 * mesh registry's for its tokens (external-tokens.ts), and each peer droplet's for its bearer
 * tokens (peer-tokens.ts) and message signatures (udc/message-signature.ts).
 *
 * - Keys are cached by kid for KEY_CACHE_MAX_AGE_MS, so verifying is a memory lookup.
 * - An unknown kid costs a fetch, at most JWKS_FETCHES_PER_MINUTE: a flood of made-up kids
 *   cannot turn into a flood against the publisher.
 * - A key the publisher has since withdrawn stops verifying as soon as any refetch has seen
 *   the newer set, although jwks-rsa would still hold it in its cache.
 * - A fetch is bounded as a whole (deadline and size): an endpoint that trickles bytes, stalls
 *   after its headers or answers something huge is not a key set.
 */
import jwksRsa from 'jwks-rsa';

const DEFAULT_TIMEOUT_MS = 5000;
const KEY_CACHE_MAX_AGE_MS = 10 * 60 * 1000;
const KEY_CACHE_MAX_ENTRIES = 20;
const JWKS_FETCHES_PER_MINUTE = 10;
/** A JWKS document is a few KiB; anything far larger is not one and is not worth buffering. */
const MAX_JWKS_BYTES = 1024 * 1024;

/** Why a key could not be had: the kid is not published, lookups are rate-limited now, or the endpoint failed. */
export type JwksKeyFailure = 'unknown_key' | 'rate_limited' | 'unreachable';

export class JwksKeyError extends Error {
  constructor(readonly failure: JwksKeyFailure) {
    super(`JWKS key lookup failed: ${failure}`);
  }
}

export class JwksKeys {
  private readonly client: jwksRsa.JwksClient;
  private publishedKids: ReadonlySet<string> = new Set();
  private fetchesStarted = 0;
  private newestFetchApplied = 0;

  constructor(
    readonly url: string,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError('the JWKS timeout must be a positive number');
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new TypeError('the JWKS URL must be an http(s) URL');
    this.client = new jwksRsa.JwksClient({
      jwksUri: url,
      cache: true,
      cacheMaxAge: KEY_CACHE_MAX_AGE_MS,
      cacheMaxEntries: KEY_CACHE_MAX_ENTRIES,
      rateLimit: true,
      jwksRequestsPerMinute: JWKS_FETCHES_PER_MINUTE,
      // jwks-rsa's own `timeout` is a socket idle timeout; this fetcher bounds the whole exchange.
      fetcher: (uri) => this.fetchJwks(uri),
    });
  }

  /** The PEM public key of `kid`, an RS256 key the endpoint publishes now; throws JwksKeyError otherwise. */
  async publicKeyFor(kid: string): Promise<string> {
    let key: jwksRsa.SigningKey;
    try {
      key = await withDeadline(this.client.getSigningKey(kid), this.timeoutMs + 1000);
    } catch (err) {
      const name = (err as { name?: string } | null)?.name;
      throw new JwksKeyError(name === 'SigningKeyNotFoundError' ? 'unknown_key' : name === 'JwksRateLimitError' ? 'rate_limited' : 'unreachable');
    }
    if (!this.publishedKids.has(kid)) throw new JwksKeyError('unknown_key');
    // A JWK that says it is for another algorithm is not an RS256 key, whatever its type.
    if (key.alg !== undefined && key.alg !== 'RS256') throw new JwksKeyError('unknown_key');
    return key.getPublicKey();
  }

  private async fetchJwks(uri: string): Promise<{ keys: unknown[] }> {
    const sequence = ++this.fetchesStarted;
    const res = await fetch(uri, { signal: AbortSignal.timeout(this.timeoutMs), headers: { accept: 'application/json' }, redirect: 'error' });
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new Error(`the JWKS endpoint answered HTTP ${res.status}`);
    }
    const body: unknown = JSON.parse(await readCapped(res, MAX_JWKS_BYTES));
    const keys = (body as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) throw new Error('the JWKS endpoint did not answer a key set');
    // Two fetches in flight may finish out of order; the later-started one is the newer view.
    if (sequence > this.newestFetchApplied) {
      this.newestFetchApplied = sequence;
      this.publishedKids = new Set(keys.map((k) => (k as { kid?: unknown } | null)?.kid).filter((k): k is string => typeof k === 'string'));
    }
    return { keys };
  }
}

/** One key source per URL in this process: a peer's bearer tokens and its message signatures share one cache. */
const sources = new Map<string, JwksKeys>();
export function jwksKeysAt(url: string, timeoutMs?: number): JwksKeys {
  let keys = sources.get(url);
  if (!keys) {
    keys = new JwksKeys(url, timeoutMs);
    sources.set(url, keys);
  }
  return keys;
}

async function readCapped(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new Error('the JWKS document is too large');
  }
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new Error('the JWKS document is too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Belt and braces over the fetch's own timeout: whatever jwks-rsa queues internally, a lookup never hangs. */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the JWKS lookup timed out')), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
