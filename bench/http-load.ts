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
  /** 2xx answers per second over the whole run. */
  okPerSecond: number;
  non2xx: number;
  errors: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

export async function measureLoad(spec: LoadSpec, settings: LoadSettings): Promise<LoadResult> {
  let n = 0;
  const result = await autocannon({
    url: spec.url,
    connections: settings.connections,
    duration: settings.durationS,
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
  return {
    okPerSecond: result['2xx'] / result.duration,
    non2xx: result.non2xx,
    errors: result.errors,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
  };
}

/** A run's figures must come from answers that worked; a failing endpoint is not fast. */
export function assertClean(label: string, result: LoadResult): void {
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${label}: ${result.non2xx} non-2xx answers and ${result.errors} connection errors`);
  }
}
