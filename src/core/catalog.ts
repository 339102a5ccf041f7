import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CallContext, CatalogImage, CatalogPlan, CatalogRegion, Provider, ProviderName } from '../common/provider.js';
import { AbortedError, ErrorCodes, isErrorCode, ProviderError, type ErrorCode } from '../common/errors.js';
import type { Keys } from './keys.js';
import { holdLease, releaseLease } from './lease.js';

export type CatalogKind = 'plans' | 'regions' | 'images';
type Entry = { plans: CatalogPlan; regions: CatalogRegion; images: CatalogImage };

const KINDS: readonly CatalogKind[] = ['plans', 'regions', 'images'];

/** How one provider answered: from the cache, fresh, or not at all (its error beside the others' results). */
export interface ProviderAnswer {
  status: 'ok' | 'error';
  cached?: boolean;
  error?: string;
}

export interface CatalogAnswer<T> {
  items: T[];
  providers: Partial<Record<ProviderName, ProviderAnswer>>;
}

/** One provider's whole catalogue, as create checks need it. */
export interface ProviderCatalog {
  plans: CatalogPlan[];
  regions: CatalogRegion[];
  images: CatalogImage[];
}

export interface CatalogReadOptions {
  /** Stops waiting (AbortedError) when it fires, e.g. the operation was cancelled. The shared read itself goes on. */
  signal?: AbortSignal;
  /** Gives up waiting after this long (ProviderError PROVIDER_TIMEOUT, retryable). The shared read itself goes on and fills the cache. */
  waitMs?: number;
}

const CALL_TIMEOUT_MS = 15000;
/** A lock outlives the read it guards (which gives up at CALL_TIMEOUT_MS), so a dead holder frees it soon after. */
const LOCK_MS = CALL_TIMEOUT_MS + 5000;
/** How often a process waiting for another's read looks for the value. */
const POLL_MS = 25;
/** How long this process answers from what it last read, without asking Redis: a catalogue changes hourly, not by the second. */
export const CATALOG_MEMO_MS = 5000;
/** How long a failed read is remembered for the processes that were waiting on it. */
const FAILURE_MEMORY_MS = 10000;


interface Loaded {
  items: unknown[];
  cached: boolean;
}

/** A failed read as the processes waiting on it receive it: the reader's token and the error's own fields. */
type StoredFailure = ConstructorParameters<typeof ProviderError>[0] & { token: string };

/**
 * The configured providers' regions, plans (with prices) and images, asked in parallel and
 * cached in Redis, so comparing what a size costs where, or checking a create, does not cost
 * a provider call each time. One provider failing leaves the others' answers intact.
 *
 * A miss is read from the provider by one process of the whole fleet at a time: the reader
 * holds a Redis lock (SET NX PX) per provider and kind; every other process (and every other
 * caller in the reading process) waits for the value to appear in Redis, polling the key, for
 * at most the call timeout. A read that fails is remembered briefly under the reader's lock
 * token, so the processes that waited on it fail with the same error instead of asking again.
 */
export class Catalog {
  private readonly inFlight = new Map<string, Promise<Loaded>>();
  private readonly providers: Map<ProviderName, Provider>;
  /**
   * The last value read per key and when: a hot cache is neither fetched from Redis nor parsed
   * again for every request (a submit checks three lists of tens of kilobytes each).
   */
  private readonly parsed = new Map<string, { raw: string; items: unknown[]; at: number }>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    providers: Map<ProviderName, Provider>,
    private readonly ttlSeconds: number,
  ) {
    this.providers = new Map(providers);
  }

  /** Whether this catalogue can read `name`'s lists (the provider is configured here). */
  has(name: ProviderName): boolean {
    return this.providers.has(name);
  }

  /** Adds a provider's adapter if the catalogue has none for it yet (a worker hands them over as it meets them). */
  use(provider: Provider): this {
    if (!this.providers.has(provider.name)) this.providers.set(provider.name, provider);
    return this;
  }

  async list<K extends CatalogKind>(kind: K, only?: ProviderName): Promise<CatalogAnswer<Entry[K]>> {
    const names = [...this.providers.keys()].filter((p) => !only || p === only);
    const answers = await Promise.all(
      names.map((name) =>
        this.read(kind, name, {}).then(
          (loaded) => ({ items: loaded.items as Entry[K][], answer: { status: 'ok', cached: loaded.cached } as ProviderAnswer }),
          (err: unknown) => ({ items: [] as Entry[K][], answer: { status: 'error', error: (err as Error).message } as ProviderAnswer }),
        ),
      ),
    );
    const items: Entry[K][] = [];
    const providers: CatalogAnswer<Entry[K]>['providers'] = {};
    names.forEach((name, i) => {
      const answer = answers[i]!;
      providers[name] = answer.answer;
      items.push(...answer.items);
    });
    return { items, providers };
  }

  /**
   * Plans, regions and images of one provider, from the cache or read once across the fleet.
   * Throws ProviderError when the provider is not in this catalogue or a list could not be read
   * (its code and retryability are the provider call's), AbortedError when `signal` fires.
   */
  async forProvider(name: ProviderName, opts: CatalogReadOptions = {}): Promise<ProviderCatalog> {
    if (!this.providers.has(name)) {
      throw new ProviderError({ provider: name, code: ErrorCodes.PROVIDER_NOT_CONFIGURED, retryable: false, message: `${name}: not configured, so it has no catalogue here` });
    }
    // Every read settles before the answer: a failure of one list leaves none of the others
    // still running behind it, so the caller's next ask starts afresh instead of joining them.
    const settled = await Promise.allSettled(KINDS.map((kind) => this.read(kind, name, opts)));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [plans, regions, images] = settled.map((r) => (r as PromiseFulfilledResult<Loaded>).value);
    return { plans: plans!.items as CatalogPlan[], regions: regions!.items as CatalogRegion[], images: images!.items as CatalogImage[] };
  }

  private valueKey(kind: CatalogKind, name: ProviderName): string {
    return `${this.keys.prefix}:catalog:${kind}:${name}`;
  }

  private async read(kind: CatalogKind, name: ProviderName, opts: CatalogReadOptions): Promise<Loaded> {
    const key = this.valueKey(kind, name);
    const recent = this.parsed.get(key);
    if (recent && Date.now() - recent.at < Math.min(CATALOG_MEMO_MS, this.ttlSeconds * 1000)) return { items: recent.items, cached: true };
    const cached = await this.redis.get(key);
    if (cached) return { items: this.parse(key, cached), cached: true };
    // Concurrent callers in this process share one load; the load itself coordinates with other processes.
    let load = this.inFlight.get(key);
    if (!load) {
      load = this.load(kind, name).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, load);
    }
    return waitFor(load, name, kind, opts);
  }

  /** One read across the fleet: take the lock and ask the provider, or wait for whoever holds it. */
  private async load(kind: CatalogKind, name: ProviderName): Promise<Loaded> {
    const key = this.valueKey(kind, name);
    const lockKey = `${this.keys.prefix}:catalog:lock:${kind}:${name}`;
    const failureKey = `${this.keys.prefix}:catalog:failed:${kind}:${name}`;
    const deadline = Date.now() + CALL_TIMEOUT_MS;
    for (;;) {
      const token = randomUUID();
      if (await holdLease(this.redis, lockKey, token, LOCK_MS)) {
        return this.readHoldingLock(kind, name, key, lockKey, failureKey, token);
      }
      // Another process is reading: wait for its value, or for its lock to go.
      const holder = await this.redis.get(lockKey);
      for (;;) {
        const [value, lock] = await this.redis.mget(key, lockKey);
        if (value) return { items: this.parse(key, value), cached: true };
        if (lock === null || lock !== holder) break;
        if (Date.now() >= deadline) throw timedOut(name, kind, `waited ${CALL_TIMEOUT_MS} ms for another process to read it`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      // The lock went without a value: the read failed (say how, to everyone who waited) or its holder died (try again).
      const failure = holder ? await this.redis.get(failureKey) : null;
      if (failure) {
        const stored = JSON.parse(failure) as StoredFailure;
        if (stored.token === holder) throw revive(stored);
      }
      if (Date.now() >= deadline) throw timedOut(name, kind, `waited ${CALL_TIMEOUT_MS} ms for another process to read it`);
    }
  }

  private async readHoldingLock(kind: CatalogKind, name: ProviderName, key: string, lockKey: string, failureKey: string, token: string): Promise<Loaded> {
    try {
      // The previous holder may have written the value between our miss and our lock.
      const cached = await this.redis.get(key);
      if (cached) return { items: this.parse(key, cached), cached: true };
      let items: unknown[];
      try {
        items = await this.fetch(kind, this.providers.get(name)!);
      } catch (err) {
        const failure = asProviderError(err, name, kind);
        const stored: StoredFailure = {
          token,
          provider: failure.provider,
          code: failure.code,
          message: failure.message,
          retryable: failure.retryable,
          providerStatus: failure.providerStatus,
          providerCode: failure.providerCode,
          retryAfterSeconds: failure.retryAfterSeconds,
        };
        await this.redis.set(failureKey, JSON.stringify(stored), 'PX', FAILURE_MEMORY_MS).catch(() => undefined);
        throw failure;
      }
      await this.redis.set(key, JSON.stringify(items), 'EX', this.ttlSeconds);
      return { items, cached: false };
    } finally {
      // Only while this process still holds it: an expired lock taken over by another is left alone.
      await releaseLease(this.redis, lockKey, token).catch(() => undefined);
    }
  }

  private parse(key: string, raw: string): unknown[] {
    const last = this.parsed.get(key);
    if (last && last.raw === raw) {
      last.at = Date.now();
      return last.items;
    }
    const items = JSON.parse(raw) as unknown[];
    this.parsed.set(key, { raw, items, at: Date.now() });
    return items;
  }

  private fetch(kind: CatalogKind, provider: Provider): Promise<unknown[]> {
    const ctx: CallContext = { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) };
    if (kind === 'plans') return provider.listPlans(ctx);
    if (kind === 'regions') return provider.listRegions(ctx);
    return provider.listImages(ctx);
  }
}

/** The shared load, given up on (without stopping it) when the caller's signal fires or its wait runs out. */
function waitFor(load: Promise<Loaded>, name: ProviderName, kind: CatalogKind, opts: CatalogReadOptions): Promise<Loaded> {
  const { signal, waitMs } = opts;
  if (!signal && waitMs === undefined) return load;
  if (signal?.aborted) return Promise.reject(new AbortedError(signal.reason));
  return new Promise<Loaded>((resolve, reject) => {
    const timer = waitMs === undefined ? undefined : setTimeout(() => finish(() => reject(timedOut(name, kind, `not read within ${waitMs} ms`))), waitMs);
    const onAbort = () => finish(() => reject(new AbortedError(signal?.reason)));
    signal?.addEventListener('abort', onAbort, { once: true });
    let done = false;
    function finish(settle: () => void) {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    }
    load.then(
      (value) => finish(() => resolve(value)),
      (err: unknown) => finish(() => reject(err)),
    );
  });
}

function timedOut(name: ProviderName, kind: CatalogKind, why: string): ProviderError {
  return new ProviderError({ provider: name, code: ErrorCodes.PROVIDER_TIMEOUT, retryable: true, message: `${name}: its ${kind} catalogue could not be read: ${why}` });
}

/** The read's own timeout aborts the adapter (AbortedError); to callers that is a provider timeout, not a cancellation. */
function asProviderError(err: unknown, name: ProviderName, kind: CatalogKind): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof AbortedError || (err instanceof Error && err.name === 'AbortError')) {
    return timedOut(name, kind, `no answer within ${CALL_TIMEOUT_MS} ms`);
  }
  return new ProviderError({
    provider: name,
    code: ErrorCodes.PROVIDER_UNAVAILABLE,
    retryable: true,
    message: `${name}: its ${kind} catalogue could not be read: ${(err as Error)?.message ?? String(err)}`,
  });
}

function revive(stored: StoredFailure): ProviderError {
  return new ProviderError({
    provider: stored.provider,
    code: isErrorCode(stored.code) ? stored.code : ErrorCodes.PROVIDER_UNAVAILABLE,
    message: stored.message,
    retryable: stored.retryable,
    providerStatus: stored.providerStatus,
    providerCode: stored.providerCode,
    retryAfterSeconds: stored.retryAfterSeconds,
  });
}
