/**
 * How one request to a provider's API went, as the shared HTTP client saw it on the wire: one
 * report per attempt (a retried request reports each try), so latency and error counts say
 * what the provider did, not what the caller finally got.
 */
export type ProviderCallOutcome =
  /** Any HTTP answer: `status` says which. */
  | 'answered'
  /** No answer within the per-attempt timeout. */
  | 'timeout'
  /** The connection failed (refused, reset, DNS). */
  | 'connection';

export interface ProviderCall {
  provider: string;
  /** The HTTP method (`GET`, `POST`, …): a handful of values, unlike paths, which carry ids. */
  method: string;
  outcome: ProviderCallOutcome;
  /** The HTTP status when the provider answered. */
  status?: number;
  seconds: number;
}

/** Called once per attempt; must not throw (the client ignores it if it does) and must not block. */
export type ProviderCallObserver = (call: ProviderCall) => void;
