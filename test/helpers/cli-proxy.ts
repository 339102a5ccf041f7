import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** One request on a connection and its answer, as text. */
export interface Exchange {
  request: string;
  response: string;
}

/**
 * One client connection through the proxy. A kept-alive connection carries several requests
 * one after the other: `request` and `response` are those of the latest.
 */
export interface ProxiedConnection extends Exchange {
  client: Socket;
  upstream: Socket;
  exchanges: Exchange[];
  cut: boolean;
}

const REQUEST_LINE = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \S+ HTTP\/1\.1\r\n/;

/**
 * A TCP proxy on loopback in front of the API, to break connections on purpose. Every connection
 * is kept in `connections`; `onForward` sees each answer chunk after it was passed on and may cut
 * the connection there; `refuse` makes it drop new connections at once (the API looks down).
 */
export class CuttingProxy {
  readonly connections: ProxiedConnection[] = [];
  refuse = false;
  onForward: ((conn: ProxiedConnection) => void) | null = null;
  /** Says, at the first chunk of an answer, to drop the connection instead: the API acted, the client never hears. */
  dropAnswer: ((conn: ProxiedConnection) => boolean) | null = null;
  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(target: URL): Promise<CuttingProxy> {
    let proxy!: CuttingProxy;
    const server = createServer((client) => {
      if (proxy.refuse) {
        client.destroy();
        return;
      }
      const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
      const conn: ProxiedConnection = { client, upstream, request: '', response: '', exchanges: [], cut: false };
      proxy.connections.push(conn);
      let current: Exchange | null = null;
      client.on('data', (chunk) => {
        const text = chunk.toString('latin1');
        if (!current || REQUEST_LINE.test(text)) {
          current = { request: '', response: '' };
          conn.exchanges.push(current);
        }
        current.request += text;
        conn.request = current.request;
        conn.response = current.response;
        upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        if (conn.cut || !current) return;
        if (current.response === '' && proxy.dropAnswer?.(conn)) {
          proxy.cut(conn);
          return;
        }
        current.response += chunk.toString('latin1');
        conn.response = current.response;
        client.write(chunk, () => proxy.onForward?.(conn));
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', close);
      upstream.on('close', close);
      client.on('error', close);
      upstream.on('error', close);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    proxy = new CuttingProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Drops a connection in the middle of an answer, as a failing network or proxy would: what was
   * already passed on still arrives (so the client has seen exactly what `response` holds), then
   * the connection closes with the answer unfinished.
   */
  cut(conn: ProxiedConnection): void {
    conn.cut = true;
    conn.client.destroy();
    conn.upstream.destroy();
  }

  /** The event stream requests of one operation, in the order they were made. */
  streamsOf(operationId: string): Exchange[] {
    return this.connections.flatMap((c) => c.exchanges).filter((e) => e.request.startsWith(`GET /v1/operations/${operationId}/events`));
  }

  async close(): Promise<void> {
    for (const c of this.connections) {
      c.client.destroy();
      c.upstream.destroy();
    }
    await new Promise((r) => this.server.close(r));
  }
}

/** The ids of the SSE events an answer carried whole (ended by their blank line), in order. */
export function eventIds(response: string): string[] {
  return [...response.matchAll(/^id: (\d+-\d+)\n(?:[^\n]+\n)*\n/gm)].map((m) => m[1]!);
}

/** The Last-Event-ID header of a request, if it carried one. */
export function lastEventIdOf(request: string): string | undefined {
  return /^last-event-id: (\S+)\r?$/im.exec(request)?.[1];
}
