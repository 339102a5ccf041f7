import type { Operation } from '../../src/core/operations/model.js';
import { http, type HttpReply } from './http.js';
import type { TestSystem } from './system.js';

/** A logged-in user: its token, and requests made with it over real HTTP. */
export interface Member {
  username: string;
  token: string;
  request<T = any>(method: string, path: string, opts?: { body?: unknown; headers?: Record<string, string> }): Promise<HttpReply<T>>;
}

/** Creates a workspace as the admin, through the API. */
export async function createWorkspace(sys: TestSystem, name: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const res = await sys.request('POST', '/v1/workspaces/create', { body: { name, ...extra } });
  if (res.status !== 201) throw new Error(`creating workspace ${name} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Creates a user as the admin (`workspaces` as the API takes it) and logs it in. */
export async function createMember(sys: TestSystem, username: string, role: string, workspaces: string[] | Record<string, string>): Promise<Member> {
  const password = `${username}-password-123`;
  const made = await sys.request('POST', '/v1/users', { body: { username, password, role, workspaces } });
  if (made.status !== 201) throw new Error(`creating user ${username} answered ${made.status}: ${JSON.stringify(made.body)}`);
  return login(sys, username, password);
}

export async function login(sys: TestSystem, username: string, password: string): Promise<Member> {
  const res = await sys.request('POST', '/v1/auth/login', { auth: false, body: { username, password } });
  if (res.status !== 200) throw new Error(`login of ${username} answered ${res.status}: ${JSON.stringify(res.body)}`);
  const token = String(res.body.token);
  return { username, token, request: (method, path, opts = {}) => http(sys.url, method, path, { ...opts, token }) };
}

/** Every operation, as the admin sees them (all pages). */
export async function allOperations(sys: TestSystem): Promise<Operation[]> {
  const all: Operation[] = [];
  let cursor: string | null = null;
  do {
    const res: HttpReply<Operation[]> = await sys.request('GET', `/v1/operations?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    if (res.status !== 200) throw new Error(`listing operations answered ${res.status}`);
    all.push(...res.body);
    cursor = res.headers.get('x-next-cursor');
  } while (cursor);
  return all;
}

export interface CollectedEvent {
  id: string;
  event: string;
  data: Record<string, string>;
}

/**
 * Opens a server-sent event stream and keeps reading it in the background, so a test can
 * look at everything it carried over a period (and see that something was never sent).
 */
export async function collectSse(url: string, token: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...headers }, signal: controller.signal });
  if (res.status !== 200) throw new Error(`SSE ${url} answered ${res.status}: ${await res.text()}`);
  const events: CollectedEvent[] = [];
  const reading = (async () => {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) return;
      buffer += decoder.decode(chunk.value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const fields: Record<string, string> = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
        }
        if (fields.data !== undefined) events.push({ id: fields.id ?? '', event: fields.event ?? 'message', data: JSON.parse(fields.data) });
      }
    }
  })().catch(() => undefined); // aborted by close()
  return {
    events,
    async close(): Promise<void> {
      controller.abort();
      await reading;
    },
  };
}

/**
 * An error body with every mention of the id it names replaced (and its trace id dropped), to
 * compare the answers for two different ids.
 */
export function errorShape(body: Record<string, unknown>, id: string): unknown {
  const { trace_id: traceId, ...rest } = body;
  return { has_trace_id: typeof traceId === 'string', ...(JSON.parse(JSON.stringify(rest).split(id).join('<id>')) as object) };
}
