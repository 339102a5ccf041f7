/**
 * The clients' side: JSON over HTTP to the API, and requests sent under an Idempotency-Key
 * until they get an answer. Every answer is kept in the ledger, which the checks compare
 * with what the engine and the providers hold afterwards.
 */
import { sleep } from './system.js';

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

/** One request as the clients sent it, under one key, and every answer it got. */
export interface KeyRecord {
  key: string;
  /** Sent as X-Request-Id, which the API keeps as the operation's trace id. */
  requestId: string;
  kind: string;
  method: string;
  path: string;
  body: unknown;
  /** Status of each attempt (0 = no answer: connection refused, reset or timed out). */
  attempts: number[];
  /** Ids of the operations the 2xx answers named. */
  operationIds: Set<string>;
  /** The status that ended the retries; null when the client gave up. */
  final: number | null;
  finalBody: unknown;
}

export class Ledger {
  readonly records = new Map<string, KeyRecord>();

  add(record: KeyRecord): void {
    this.records.set(record.key, record);
  }

  /** Keys that got a 202. */
  accepted(): KeyRecord[] {
    return [...this.records.values()].filter((r) => r.final === 202);
  }

  get acceptedCount(): number {
    let n = 0;
    for (const r of this.records.values()) if (r.final === 202) n++;
    return n;
  }
}

export class EngineClient {
  constructor(
    readonly url: string,
    private token = '',
  ) {}

  /** Logs in as admin, waiting for the API if it is not up yet. */
  static async login(url: string, password: string): Promise<EngineClient> {
    const client = new EngineClient(url);
    const deadline = Date.now() + 60000;
    for (;;) {
      const res = await client.call('POST', '/v1/auth/login', { username: 'admin', password }).catch(() => null);
      if (res?.status === 200) {
        client.token = res.body.token as string;
        return client;
      }
      if (Date.now() > deadline) throw new Error(`login failed: ${res ? `${res.status} ${JSON.stringify(res.body)}` : 'no answer'}`);
      await sleep(250);
    }
  }

  /** One attempt; rejects on a connection error or after `timeoutMs`. */
  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = 10000): Promise<Reply> {
    const all: Record<string, string> = { ...headers };
    if (this.token) all.authorization = `Bearer ${this.token}`;
    if (body !== undefined) all['content-type'] = 'application/json';
    const res = await fetch(this.url + path, {
      method,
      headers: all,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  /** A read that must succeed: retried through restarts of the API and Redis. */
  async read(path: string, patienceMs = 60000): Promise<Reply> {
    const deadline = Date.now() + patienceMs;
    for (let attempt = 1; ; attempt++) {
      const res = await this.call('GET', path).catch(() => null);
      if (res && res.status < 500) return res;
      if (Date.now() > deadline) throw new Error(`GET ${path}: ${res ? `${res.status} ${JSON.stringify(res.body)}` : 'no answer'} after ${attempt} attempts`);
      await sleep(Math.min(2000, 100 * attempt));
    }
  }

  /** Every item of a paginated listing, following X-Next-Cursor. */
  async readAll<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    const sep = path.includes('?') ? '&' : '?';
    let cursor: string | null = null;
    do {
      const res = await this.read(`${path}${sep}limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      items.push(...(res.body as T[]));
      cursor = res.headers.get('x-next-cursor');
    } while (cursor);
    return items;
  }

  /**
   * Sends the request under its key until an answer settles it: a 2xx, or a 4xx other than
   * "key in progress" and "too many requests". Connection errors, timeouts and 5xx are
   * retried with the same key and the same body, as a client that cannot tell whether its
   * request was carried out must do.
   */
  async submit(record: KeyRecord, patienceMs: number): Promise<void> {
    const deadline = Date.now() + patienceMs;
    const headers = { 'Idempotency-Key': record.key, 'X-Request-Id': record.requestId };
    for (let attempt = 1; ; attempt++) {
      const res = await this.call(record.method, record.path, record.body, headers).catch(() => null);
      record.attempts.push(res?.status ?? 0);
      if (res && res.status >= 200 && res.status < 300 && typeof res.body?.id === 'string') record.operationIds.add(res.body.id);
      const retry = res === null || res.status >= 500 || res.status === 429;
      if (!retry) {
        record.final = res.status;
        record.finalBody = res.body;
        return;
      }
      if (Date.now() > deadline) return;
      await sleep(Math.min(2000, 150 * attempt));
    }
  }
}
