import type { Operation } from '../../src/core/operations/model.js';
import { http, type HttpReply } from './http.js';
import { openSse, type SseMessage } from './sse.js';
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

export type CollectedEvent = SseMessage;

/**
 * Opens a server-sent event stream and keeps reading it in the background, so a test can
 * look at everything it carried over a period (and see that something was never sent).
 */
export async function collectSse(url: string, token: string, headers: Record<string, string> = {}) {
  const stream = await openSse(url, token, headers);
  const events: CollectedEvent[] = [];
  const reading = (async () => {
    for (let m = await stream.next(Infinity); m; m = await stream.next(Infinity)) events.push(m);
  })().catch(() => undefined); // aborted by close()
  return {
    events,
    async close(): Promise<void> {
      stream.close();
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
