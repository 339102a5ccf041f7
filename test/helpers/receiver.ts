import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got, with its raw body (what a signature is checked against). */
export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  port: number;
  url: string;
  requests: Received[];
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/**
 * A loopback HTTP server standing in for an external peer (a webhook receiver, another
 * droplet): it records every request and answers `status(req)` (200 by default).
 */
export async function startReceiver(port = 0, status: (req: Received) => number = () => 200): Promise<Receiver> {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const got: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(got);
      res.statusCode = status(got);
      res.setHeader('content-type', 'application/json');
      res.end('{"received":true}');
    });
  });
  const bound = await listen(server, port);
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port that was free a moment ago and is closed now: a target that is down, which can come up later on it. */
export async function reservePort(): Promise<number> {
  const probe = await startReceiver();
  await probe.close();
  return probe.port;
}
