import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseRetryAfter } from './backoff.js';
import { isPrivateAddress, literalAddress, publicOnlyLookup } from './address-guard.js';
import type { AttemptOutcome } from './model.js';

export interface AttemptOptions {
  url: string;
  /** The exact bytes sent: what a signature was made over. */
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Refuse loopback, private and link-local addresses, checked on the addresses actually connected to. */
  publicOnly: boolean;
}

/** At most this much of an answer is read (its body is not kept, only drained). */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * One POST of a delivery, classified: 2xx delivered; 408, 429 and 5xx worth retrying (with
 * the target's Retry-After); any other 4xx or 3xx final; a timeout or a connection that could
 * not be made retried. Never throws.
 */
export function attemptDelivery(opts: AttemptOptions): Promise<AttemptOutcome> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      return resolve({ result: 'failed', statusCode: null, error: 'the target URL is not a URL' });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return resolve({ result: 'failed', statusCode: null, error: `the target URL must be http or https, not ${url.protocol}` });
    const literal = literalAddress(url);
    if (opts.publicOnly && literal !== null && isPrivateAddress(literal)) {
      return resolve({ result: 'failed', statusCode: null, error: `${literal} is a private address; set WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow it` });
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const finish = (outcome: AttemptOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = send(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(opts.body)), 'user-agent': 'provisioning-engine-outbox', ...opts.headers },
        ...(opts.publicOnly ? { lookup: publicOnlyLookup as never } : {}),
        // Redirects are not followed: a 3xx is the target's final answer.
      },
      (res: IncomingMessage) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) res.destroy();
        });
        res.on('error', () => undefined);
        const status = res.statusCode ?? 0;
        const done = () => finish(classify(status, res.headers['retry-after']));
        res.once('end', done);
        res.once('close', done);
      },
    );
    // One deadline for the whole attempt (connecting, sending, the answer's headers and body).
    const timer = setTimeout(() => {
      req.destroy();
      finish({ result: 'retry', statusCode: null, error: `no answer within ${opts.timeoutMs} ms` });
    }, opts.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPRIVATE') return finish({ result: 'failed', statusCode: null, error: err.message });
      finish({ result: 'retry', statusCode: null, error: `${err.code ?? 'error'}: ${err.message}`.slice(0, 200) });
    });
    req.end(opts.body);
  });
}

function classify(status: number, retryAfter: string | string[] | undefined): AttemptOutcome {
  if (status >= 200 && status < 300) return { result: 'delivered', statusCode: status };
  if (status === 408 || status === 429 || status >= 500) {
    return { result: 'retry', statusCode: status, error: `the target answered ${status}`, retryAfterMs: parseRetryAfter(retryAfter) };
  }
  return { result: 'failed', statusCode: status, error: `the target answered ${status}` };
}
