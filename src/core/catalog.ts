import type { Redis } from 'ioredis';
import type { CallContext, CatalogImage, CatalogPlan, CatalogRegion, Provider, ProviderName } from '../providers/types.js';
import type { Keys } from './keys.js';

export type CatalogKind = 'plans' | 'regions' | 'images';
type Entry = { plans: CatalogPlan; regions: CatalogRegion; images: CatalogImage };

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

const CALL_TIMEOUT_MS = 15000;

/**
 * The configured providers' regions, plans (with prices) and images, asked in parallel and
 * cached in Redis, so comparing what a size costs where does not cost a provider call each
 * time. One provider failing leaves the others' answers intact.
 */
export class Catalog {
  private readonly inFlight = new Map<string, Promise<unknown[]>>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly providers: Map<ProviderName, Provider>,
    private readonly ttlSeconds: number,
  ) {}

  async list<K extends CatalogKind>(kind: K, only?: ProviderName): Promise<CatalogAnswer<Entry[K]>> {
    const names = [...this.providers.keys()].filter((p) => !only || p === only);
    const answers = await Promise.all(names.map((name) => this.fromProvider<Entry[K]>(kind, name)));
    const items: Entry[K][] = [];
    const providers: CatalogAnswer<Entry[K]>['providers'] = {};
    names.forEach((name, i) => {
      const answer = answers[i]!;
      providers[name] = answer.answer;
      items.push(...answer.items);
    });
    return { items, providers };
  }

  private async fromProvider<T>(kind: CatalogKind, name: ProviderName): Promise<{ items: T[]; answer: ProviderAnswer }> {
    const key = `${this.keys.prefix}:catalog:${kind}:${name}`;
    const cached = await this.redis.get(key);
    if (cached) return { items: JSON.parse(cached) as T[], answer: { status: 'ok', cached: true } };
    try {
      // Concurrent requests for the same list share one provider call.
      let call = this.inFlight.get(key);
      if (!call) {
        call = this.fetch(kind, this.providers.get(name)!).finally(() => this.inFlight.delete(key));
        this.inFlight.set(key, call);
      }
      const items = (await call) as T[];
      await this.redis.set(key, JSON.stringify(items), 'EX', this.ttlSeconds);
      return { items, answer: { status: 'ok', cached: false } };
    } catch (err) {
      return { items: [], answer: { status: 'error', error: (err as Error).message } };
    }
  }

  private fetch(kind: CatalogKind, provider: Provider): Promise<unknown[]> {
    const ctx: CallContext = { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) };
    if (kind === 'plans') return provider.listPlans(ctx);
    if (kind === 'regions') return provider.listRegions(ctx);
    return provider.listImages(ctx);
  }
}
