/** HTTP throughput with autocannon: the same settings for the engine and its baseline. */
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Path of the n-th request; lets a run rotate over ids. */
  path: (n: number) => string;
  /** Body of the n-th request, if any. */
  body?: (n: number) => string;
}

export interface LoadSettings {
  connections: number;
  durationS: number;
}

export interface LoadResult {
  /** 2xx answers, and over how many seconds. */
  ok: number;
  seconds: number;
  okPerSecond: number;
  non2xx: number;
  errors: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

function run(spec: LoadSpec, connections: number, limit: { duration: number } | { amount: number }): Promise<autocannon.Result> {
  let n = 0;
  return autocannon({
    url: spec.url,
    connections,
    ...limit,
    method: spec.method,
    headers: { ...spec.headers, ...(spec.body ? { 'content-type': 'application/json' } : {}) },
    requests: [
      {
        setupRequest: (req) => {
          const i = n++;
          return { ...req, path: spec.path(i), ...(spec.body ? { body: spec.body(i) } : {}) };
        },
      },
    ],
  });
}

export async function measureLoad(spec: LoadSpec, settings: LoadSettings): Promise<LoadResult> {
  const result = await run(spec, settings.connections, { duration: settings.durationS });
  return {
    ok: result['2xx'],
    seconds: result.duration,
    okPerSecond: result['2xx'] / result.duration,
    non2xx: result.non2xx,
    errors: result.errors,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
  };
}

/**
 * Sends exactly `count` requests over `connections` connections and rejects unless every one
 * answered 2xx. A light client: the end-to-end figure should not pay for a heavy one.
 */
export async function sendExactly(spec: LoadSpec, count: number, connections: number): Promise<void> {
  const result = await run(spec, Math.min(connections, count), { amount: count });
  if (result['2xx'] !== count) {
    throw new Error(`${spec.method} ${spec.url}: ${result['2xx']} of ${count} answered 2xx (${result.non2xx} non-2xx, ${result.errors} errors)`);
  }
}

/** A run's figures must come from answers that worked; a failing endpoint is not fast. */
export function assertClean(label: string, result: LoadResult): void {
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${label}: ${result.non2xx} non-2xx answers and ${result.errors} connection errors`);
  }
}
