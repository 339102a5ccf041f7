/**
 * The provider fault storms: one rule for the sandbox's fault injection (POST /_sandbox/faults)
 * against one provider, held for a few seconds.
 */
import type { FaultRule } from '../src/sandbox/faults.js';
import type { ChaosSettings, Random } from './settings.js';

const PROVIDERS = ['digitalocean', 'hetzner', 'vultr', 'upcloud'] as const;
type Provider = (typeof PROVIDERS)[number];

/** Each provider's create and power action requests, as fault rules see paths (after the provider's mount prefix). */
const CREATE_PATH: Record<Provider, string> = {
  digitalocean: '^/v2/droplets$',
  hetzner: '^/v1/servers$',
  vultr: '^/v2/instances$',
  upcloud: '^/1\\.3/server$',
};
const ACTION_PATH: Record<Provider, string> = {
  digitalocean: '^/v2/droplets/\\d+/actions$',
  hetzner: '^/v1/servers/\\d+/actions/',
  vultr: '^/v2/instances/[^/]+/(reboot|halt|start)$',
  upcloud: '^/1\\.3/server/[^/]+/(restart|stop|start)$',
};

export interface FaultStorm {
  rule: FaultRule;
  description: string;
  /** How long to keep the rule, at most: one waiting for a few matching requests stays longer. */
  holdMs: number;
}

/**
 * Deals the kinds of fault in a shuffled order, all of them before any comes again, so even
 * a short run meets every kind; the provider of each is drawn at random.
 */
export class FaultDeck {
  private deck: number[] = [];

  constructor(
    private readonly random: Random,
    private readonly settings: ChaosSettings,
  ) {}

  next(): FaultStorm {
    if (this.deck.length === 0) {
      this.deck = Array.from({ length: KINDS }, (_, i) => i);
      for (let i = this.deck.length - 1; i > 0; i--) {
        const j = this.random.int(0, i);
        [this.deck[i], this.deck[j]] = [this.deck[j]!, this.deck[i]!];
      }
    }
    return faultOfKind(this.deck.pop()!, this.random, this.settings);
  }
}

const KINDS = 7;

function faultOfKind(kind: number, random: Random, settings: ChaosSettings): FaultStorm {
  const provider = random.pick(PROVIDERS);
  const hold = random.jitter(settings.providerFaults.durationMs);
  // Longer than the engine waits for an answer, so a held answer is one it never sees.
  const late = Number(settings.engineEnv.PROVIDER_TIMEOUT_MS ?? 15000) + 2000;
  const serverError = random.pick([500, 502, 503]);
  const choices: Array<Omit<FaultStorm, 'holdMs'>> = [
    { rule: { provider, kind: 'status', status: serverError }, description: `${provider}: every request answers ${serverError}` },
    { rule: { provider, kind: 'status', status: 429, retryAfterSec: 1 }, description: `${provider}: every request answers 429 (Retry-After 1)` },
    { rule: { provider, kind: 'timeout', count: 3 }, description: `${provider}: the next 3 requests hang` },
    { rule: { provider, kind: 'latency', latencyMs: 1500 }, description: `${provider}: every request is 1.5 s slower` },
    // Carried out, but the answer comes after the engine gave up: a rerun must find what it did.
    {
      rule: { provider, kind: 'slow_response', method: 'POST', path: CREATE_PATH[provider], latencyMs: late, count: 2 },
      description: `${provider}: the next 2 creates take effect but answer after ${late} ms`,
    },
    {
      rule: { provider, kind: 'slow_response', method: 'POST', path: ACTION_PATH[provider], latencyMs: late, count: 3 },
      description: `${provider}: the next 3 power actions take effect but answer after ${late} ms`,
    },
    {
      rule: { provider, kind: 'slow_response', method: 'DELETE', latencyMs: late, count: 1 },
      description: `${provider}: the next delete takes effect but answers after ${late} ms`,
    },
  ];
  const chosen = choices[kind % choices.length]!;
  // A count-limited rule waits for its requests; the others are storms of a few seconds.
  return { ...chosen, holdMs: chosen.rule.count === undefined ? hold : hold * 3 };
}
