import type { Catalog, CatalogReadOptions, ProviderCatalog } from '../catalog.js';
import { catalogFor, type CoreContext } from '../context.js';
import { ErrorCodes, ProviderError, type FieldProblem } from '../../common/errors.js';
import { tagProblems } from '../../providers/hetzner/labels.js';
import { UPCLOUD_DEFAULT_TEMPLATE } from '../../providers/upcloud/adapter.js';
import type { CallContext, CatalogPlan, CreatePlan, CreateServerInput, Provider, ProviderName } from '../../common/provider.js';

/**
 * Checks a server create against the cached provider catalogue (src/core/catalog.ts) instead
 * of asking the provider each time: a thousand dry runs cost one catalogue read per provider
 * and list per CATALOG_TTL_SECONDS, across every process.
 *
 * The checks follow each adapter's `planCreate`, in the provider's words, as far as the
 * catalogue can tell. What it cannot tell:
 * - ids the catalogue does not list (DigitalOcean's numeric id of an image it lists by slug,
 *   Hetzner's numeric location, server type and image ids): "undecided", see `checkCreate`;
 * - which regions an image is in (DigitalOcean) and which CPU architectures a Hetzner image
 *   is built for: not checked here, the create itself finds out;
 * - sizes/types the provider marks unavailable or deprecated are left out of the catalogue,
 *   so they are reported as unknown.
 */

export interface CreateCheckInput {
  name: string;
  plan: string;
  zone: string;
  image: string;
  /** Hetzner only: tags become labels, and a tag that cannot be one is refused like planCreate does. */
  tags?: string[];
}

/** How each provider calls the three things, as its own planCreate says it. */
const WORDS: Record<ProviderName, { plan: string; zone: string; imageHint: string }> = {
  digitalocean: { plan: 'size', zone: 'region', imageHint: '' },
  hetzner: { plan: 'server type', zone: 'location', imageHint: '' },
  vultr: { plan: 'plan', zone: 'region', imageHint: ' (an os_id from GET /os)' },
  upcloud: { plan: 'plan', zone: 'zone', imageHint: ` (UpCloud takes a template UUID, e.g. ${UPCLOUD_DEFAULT_TEMPLATE})` },
};

/** Whether the provider's create also takes this value in a form the catalogue does not list. */
const UNLISTED_FORM: Record<ProviderName, Partial<Record<'plan' | 'zone' | 'image', (value: string) => boolean>>> = {
  // Images are listed by slug; the create also takes the numeric id of any image.
  digitalocean: { image: isNumericId },
  // Everything is listed by name; the API also takes numeric ids.
  hetzner: { plan: isNumericId, zone: isNumericId, image: isNumericId },
  vultr: {},
  upcloud: {},
};

/** Providers whose catalogue regions for a plan are complete (derived from where it is priced): none means nowhere. */
const REGIONS_ARE_COMPLETE: ReadonlySet<ProviderName> = new Set(['hetzner', 'upcloud']);

function isNumericId(value: string): boolean {
  return /^\d+$/.test(value);
}

interface Finding {
  field: 'plan' | 'zone' | 'image' | 'tags';
  /** The provider's words, as planCreate puts it: "unknown size 's-9'". */
  message: string;
  /** The API's words for a 400 naming the field: "is not a digitalocean size: 's-9'". */
  problem: string;
}

interface Assessment {
  findings: Finding[];
  /** Fields whose value the catalogue cannot confirm or refuse (an id form it does not list). */
  undecided: Array<'plan' | 'zone' | 'image'>;
  plan?: CatalogPlan;
}

function assess(catalog: ProviderCatalog, provider: ProviderName, input: CreateCheckInput): Assessment {
  const words = WORDS[provider];
  const unlisted = UNLISTED_FORM[provider];
  const findings: Finding[] = [];
  const undecided: Assessment['undecided'] = [];

  const region = catalog.regions.find((r) => r.id === input.zone);
  const plan = catalog.plans.find((p) => p.id === input.plan);
  const image = catalog.images.find((i) => i.id === input.image);

  if (!region) {
    if (unlisted.zone?.(input.zone)) undecided.push('zone');
    else findings.push({ field: 'zone', message: `unknown ${words.zone} '${input.zone}'`, problem: `is not a ${provider} ${words.zone}: '${input.zone}'` });
  } else if (!region.available) {
    findings.push({ field: 'zone', message: `${words.zone} '${input.zone}' is not available`, problem: `${provider} ${words.zone} '${input.zone}' is not available` });
  }

  if (!plan) {
    if (unlisted.plan?.(input.plan)) undecided.push('plan');
    else findings.push({ field: 'plan', message: `unknown ${words.plan} '${input.plan}'`, problem: `is not a ${provider} ${words.plan}: '${input.plan}'` });
  } else if (region && (plan.regions.length > 0 || REGIONS_ARE_COMPLETE.has(provider)) && !plan.regions.includes(region.id)) {
    findings.push({
      field: 'plan',
      message: `${words.plan} '${input.plan}' is not offered in ${words.zone} '${input.zone}'`,
      problem: `${provider} ${words.plan} '${input.plan}' is not offered in ${words.zone} '${input.zone}'`,
    });
  }

  if (!image) {
    if (unlisted.image?.(input.image)) undecided.push('image');
    else findings.push({ field: 'image', message: `unknown image '${input.image}'${words.imageHint}`, problem: `is not a ${provider} image: '${input.image}'${words.imageHint}` });
  }

  if (provider === 'hetzner' && input.tags) {
    for (const message of tagProblems(input.tags)) findings.push({ field: 'tags', message, problem: message });
  }
  return { findings, undecided, plan };
}

function rejected(provider: ProviderName, findings: Finding[]): ProviderError {
  return new ProviderError({
    provider,
    code: ErrorCodes.PROVIDER_REJECTED,
    retryable: false,
    message: `${provider}: ${findings.map((f) => f.message).join('; ')}`,
  });
}

export interface CheckCreateOptions extends CatalogReadOptions {
  /**
   * Asked when the request names an id in a form the catalogue does not list (see
   * UNLISTED_FORM) and nothing else is wrong: typically the adapter's own planCreate. Without
   * it such a request passes on what the catalogue does know.
   */
  confirm?: () => Promise<CreatePlan>;
}

/**
 * What a create would make, checked against the cached catalogue: the region exists and is
 * available, the plan exists and is offered there, the image exists. Throws ProviderError
 * PROVIDER_REJECTED (not retryable) naming every problem in the provider's words, like the
 * adapters' planCreate ("digitalocean: unknown size 's-9'; unknown region 'xx1'"), or the
 * catalogue's own ProviderError when it could not be read.
 */
export async function checkCreate(catalog: Catalog, provider: ProviderName, input: CreateCheckInput, opts: CheckCreateOptions = {}): Promise<CreatePlan> {
  const lists = await catalog.forProvider(provider, opts);
  const { findings, undecided, plan } = assess(lists, provider, input);
  if (findings.length > 0) throw rejected(provider, findings);
  if (undecided.length > 0 && opts.confirm) return opts.confirm();
  return {
    provider,
    name: input.name,
    plan: input.plan,
    zone: input.zone,
    image: input.image,
    // The catalogue keeps one price per plan. DigitalOcean and Vultr price a plan the same
    // everywhere; for Hetzner (per location) and UpCloud (per zone) it is the cheapest
    // location's price, the "from" price their catalogue lists, not necessarily this one's.
    price_monthly: plan?.price_monthly,
    price_hourly: plan?.price_hourly,
  };
}

/**
 * check_mode of a server create, for the worker: the cached catalogue instead of the
 * provider's lists. Ids the catalogue does not list fall back to the adapter's planCreate.
 */
export function checkCreateCached(ctx: CoreContext, provider: Provider, input: CreateServerInput, call: CallContext): Promise<CreatePlan> {
  return checkCreate(catalogFor(ctx, [provider]), provider.name, input, {
    signal: call.signal,
    confirm: () => provider.planCreate(input, call),
  });
}

export interface SubmitCheckInput {
  provider: ProviderName;
  plan: string;
  zone: string;
  /** Absent: the adapter's default image, which is not checked here. */
  image?: string;
  /** A check_mode request is held to planCreate's rules; a real create also takes images a dry run refuses (Vultr snapshots and applications). */
  check_mode: boolean;
}

/** How long a submit waits for a catalogue that is not cached yet before accepting unchecked (the read goes on and fills the cache). */
export const SUBMIT_CHECK_WAIT_MS = 3000;

/**
 * The field problems the cached catalogue shows in a create request, for a 400 at submit.
 * Empty when all is well, when the catalogue cannot tell, or when it cannot be read right now
 * (the provider is down or slow, or not in `catalog`): then the worker finds out.
 */
export async function catalogueProblems(catalog: Catalog, body: SubmitCheckInput, waitMs = SUBMIT_CHECK_WAIT_MS): Promise<FieldProblem[]> {
  if (!catalog.has(body.provider)) return [];
  let lists: ProviderCatalog;
  try {
    lists = await catalog.forProvider(body.provider, { waitMs });
  } catch {
    // Provider down or slow (or Redis hiccuping): accept, never a 5xx for it; the worker checks again.
    return [];
  }
  const image = body.image;
  const { findings } = assess(lists, body.provider, { name: '', plan: body.plan, zone: body.zone, image: image ?? '' });
  return findings
    .filter((f) => f.field !== 'image' || (image !== undefined && (body.check_mode || body.provider !== 'vultr' || isNumericId(image))))
    .map((f) => ({ field: f.field, problem: f.problem }));
}

/** A resize's plan against the cached catalogue: problems for a 400, empty when fine or when the catalogue cannot tell. */
export async function resizePlanProblems(catalog: Catalog, provider: ProviderName, plan: string, waitMs = SUBMIT_CHECK_WAIT_MS): Promise<FieldProblem[]> {
  if (!catalog.has(provider)) return [];
  let lists: ProviderCatalog;
  try {
    lists = await catalog.forProvider(provider, { waitMs });
  } catch {
    return [];
  }
  if (lists.plans.some((p) => p.id === plan) || UNLISTED_FORM[provider].plan?.(plan)) return [];
  return [{ field: 'plan', problem: `is not a ${provider} ${WORDS[provider].plan}: '${plan}'` }];
}
