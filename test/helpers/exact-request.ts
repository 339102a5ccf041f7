/**
 * Sends one HTTP request with exactly the headers and body given (node:http adds only Host
 * and, for a body, Content-Length), so a test can reproduce byte for byte what a
 * provider's official client puts on the wire.
 */
import { request } from 'node:http';

export interface ExactResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or null for an empty body. */
  body: any;
  text: string;
}

export function exactRequest(url: string, method: string, headers: Record<string, string>, body?: string): Promise<ExactResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? null : JSON.parse(text), text });
        } catch (err) {
          reject(new Error(`${method} ${url} answered ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`, { cause: err }));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} got no answer within 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** HTTP Basic credentials as a header value. */
export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
