import { Agent, request, type IncomingHttpHeaders } from 'node:http';

export interface RawRequest {
  method: string;
  /** Sent exactly as given: percent-encoding (or its absence) is the caller's. */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface RawReply {
  /** 0 when no answer came (`error` says why). */
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
  error?: string;
}

/**
 * HTTP/1.1 over keep-alive sockets with nothing normalised: the path, headers and body bytes
 * go out as given (fetch would resolve `..`, re-encode the path and refuse some headers). An
 * event stream is answered with its status and headers as soon as they arrive, then closed.
 */
export function rawClient(base: string, maxSockets = 16) {
  const url = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets });
  const send = (r: RawRequest, timeoutMs = 15000): Promise<RawReply> =>
    new Promise((resolve) => {
      const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
      let settled = false;
      const done = (reply: RawReply) => {
        if (settled) return;
        settled = true;
        resolve(reply);
      };
      const failed = (err: unknown) => done({ status: 0, headers: {}, text: '', json: undefined, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
      let req: ReturnType<typeof request>;
      try {
        req = request(
          { host: url.hostname, port: url.port, method: r.method, path: r.path, agent, headers: { ...r.headers, ...(body ? { 'content-length': String(body.length) } : {}) } },
          (res) => {
            if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
              res.destroy();
              return done({ status: res.statusCode!, headers: res.headers, text: '', json: undefined });
            }
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', failed);
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let json: unknown;
              try {
                json = text ? JSON.parse(text) : undefined;
              } catch {
                // not JSON
              }
              done({ status: res.statusCode!, headers: res.headers, text, json });
            });
          },
        );
      } catch (err) {
        return failed(err);
      }
      req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
      req.on('error', failed);
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}
