/**
 * Each provider account's rate limit as one budget in Redis that every process shares (see
 * budget.ts for the counting, model.ts for each provider's model and the priorities).
 */
import type { Redis } from 'ioredis';
import type { RequestBudget } from '../../providers/request-budget.js';
import type { ProviderName } from '../../common/provider.js';
import type { Config } from '../config.js';
import type { Keys } from '../keys.js';
import { RedisRequestBudget } from './budget.js';
import { budgetModel } from './model.js';

export { providerAccountId } from '../../providers/request-budget.js';
export { DEFAULT_MAX_IN_PROCESS_WAIT_MS, RedisRequestBudget, type RedisRequestBudgetOptions } from './budget.js';
export { type BudgetModel, budgetModel, reserveFor } from './model.js';

export type RequestBudgets = (provider: ProviderName, accountId: string) => RequestBudget;

/** `<prefix>:budget:<accountId>`: where one account's counts live. */
export function budgetKeyBase(keys: Keys, accountId: string): string {
  return `${keys.prefix}:budget:${accountId}`;
}

/**
 * The budgets of one process, one per account, over its Redis connection. Budgets of the same
 * account in other processes share its keys, which is the point.
 */
export function createRequestBudgets(
  redis: Redis,
  keys: Keys,
  config: Pick<Config, 'rateLimits'>,
  options: { maxWaitMs?: number } = {},
): RequestBudgets {
  const budgets = new Map<string, RedisRequestBudget>();
  // The budget for the limits configured now: a configuration reload may change them.
  const current = (provider: ProviderName, accountId: string): RedisRequestBudget => {
    const limits = config.rateLimits[provider];
    const id = `${provider}:${accountId}:${JSON.stringify(limits)}`;
    let budget = budgets.get(id);
    if (!budget) {
      budget = new RedisRequestBudget(redis, {
        provider,
        keyBase: budgetKeyBase(keys, accountId),
        model: budgetModel(provider, limits),
        maxWaitMs: options.maxWaitMs,
      });
      budgets.set(id, budget);
    }
    return budget;
  };
  // Adapters keep the budget they are given for their lifetime, so it is a view that follows the setting.
  return (provider, accountId) => ({
    take: (priority, signal) => current(provider, accountId).take(priority, signal),
    settle: (status, headers) => current(provider, accountId).settle(status, headers),
  });
}
