/**
 * One of several processes that share a provider account's request budget, for
 * test/rate-budget-shared-by-processes.test.ts. Builds its adapters as the engine does
 * (loadConfig → createProviders with the Redis budgets), prints READY, waits for a line on
 * stdin so every process starts at once, lists servers from HAMMER_LOOPS concurrent loops for
 * HAMMER_MS, then prints one RESULT line of JSON and exits.
 *
 * Environment: the engine's own settings (REDIS_URL, KEY_PREFIX, the provider's URL, token and
 * RATE_LIMIT_*), plus HAMMER_PROVIDER, HAMMER_MS and HAMMER_LOOPS.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { loadConfig } from '../../src/core/config.js';
import { ErrorCodes, ProviderError } from '../../src/common/errors.js';
import { Keys } from '../../src/core/keys.js';
import { createRequestBudgets } from '../../src/core/rate-budget/index.js';
import { connectRedis } from '../../src/core/redis.js';
import { createProviders } from '../../src/providers/registry.js';
import { RequestBudgetExhaustedError } from '../../src/providers/request-budget.js';
import type { ProviderName } from '../../src/common/provider.js';

export interface HammerResult {
  /** Listings the provider answered. */
  ok: number;
  /** Refused by the shared budget before anything was sent. */
  budgetRefusals: number;
  /** PROVIDER_RATE_LIMITED that came from the provider itself (a 429 on the wire). */
  providerRateLimited: number;
  otherErrors: string[];
  /**
   * The longest this process's event loop was held up while it hammered (ms): how late a
   * granted request may have left, on a machine too busy to run it at once.
   */
  maxStallMs: number;
}

const config = loadConfig(process.env);
const providerName = process.env.HAMMER_PROVIDER as ProviderName;
const hammerMs = Number(process.env.HAMMER_MS ?? 5000);
const loops = Number(process.env.HAMMER_LOOPS ?? 4);

const redis = connectRedis(config.redisUrl!, 'budget-hammer');
const budgets = createRequestBudgets(redis, new Keys(config.keyPrefix), config);
const provider = createProviders(config.providers, { maxConcurrency: loops }, budgets).get(providerName);
if (!provider) throw new Error(`HAMMER_PROVIDER '${providerName}' is not configured`);

const result: HammerResult = { ok: 0, budgetRefusals: 0, providerRateLimited: 0, otherErrors: [], maxStallMs: 0 };
const pause = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function hammer(deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    try {
      await provider!.listServers({});
      result.ok++;
    } catch (err) {
      if (err instanceof RequestBudgetExhaustedError) {
        result.budgetRefusals++;
        // A parked job would come back after retryAfterSeconds; come back sooner to keep pressing.
        await pause(Math.min(150, deadline - Date.now()));
      } else if (err instanceof ProviderError && err.code === ErrorCodes.PROVIDER_RATE_LIMITED) {
        result.providerRateLimited++;
      } else {
        result.otherErrors.push(String(err));
      }
    }
  }
}

process.stdout.write('READY\n');
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.once('line', () => resolve()));
lines.close();

const STALL_RESOLUTION_MS = 10;
const stalls = monitorEventLoopDelay({ resolution: STALL_RESOLUTION_MS });
stalls.enable();
const deadline = Date.now() + hammerMs;
await Promise.all(Array.from({ length: loops }, () => hammer(deadline)));
stalls.disable();
// The histogram counts the timer's own interval in every sample.
result.maxStallMs = Math.max(0, Math.round(stalls.max / 1e6) - STALL_RESOLUTION_MS);
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
await redis.quit();
process.exit(0);
