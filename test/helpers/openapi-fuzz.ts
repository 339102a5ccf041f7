import { parse as parseQuery } from 'node:querystring';
import { gzipSync } from 'node:zlib';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * Malformed requests generated from the OpenAPI document: for every operation, its path and
 * query parameters and its body schema, the kinds of bad input a client (or an attacker) sends.
 * Each case says what the server's parser will make of it, so the caller can tell a request
 * that cannot reach a route's handler (refused by the parser, invalid under the route's own
 * schema, or naming an id that does not exist) from one that could change something; only the
 * first kind goes out with a valid token.
 */

type Schema = Record<string, any>;

export interface FuzzParam {
  name: string;
  required: boolean;
  schema: Schema;
}

export interface FuzzOperation {
  method: string;
  path: string;
  /** `detail`: the multi-cloud routes' `{"detail": …}` errors; `v1`: everything else. */
  family: 'v1' | 'detail';
  auth: boolean;
  idempotent: boolean;
  pathParams: FuzzParam[];
  queryParams: FuzzParam[];
  body?: Schema;
}

/** What the server's body parser makes of a case's body. */
export type Parsed = { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'refused' } | { kind: 'unknown' };

export type Credential = 'admin' | 'none' | 'garbage' | 'forged' | 'basic' | 'api-key' | 'empty-bearer';

export interface FuzzCase {
  op: FuzzOperation;
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer | string;
  credential: Credential;
  /** The field a validation error must name, as the `/v1` family names it (`hostname`, `path.id`, `query.limit`, `body`). */
  expectField?: string;
  /** Statuses the answer must have, when the input decides it. */
  expectStatus?: number[];
}

const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
function makeAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ allErrors: false, coerceTypes, useDefaults: false, strict: false, allowUnionTypes: true });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  return ajv;
}
const strictAjv = makeAjv(false);
const coercingAjv = makeAjv(true);

export const MULTI_CLOUD = /^\/(do|hetzner|vultr|upcloud|multi)\//;

/** The UDC droplet endpoints, which answer errors in the same `{"detail": …}` shape. */
export const UDC = /^\/(capabilities|state|dependencies|version|message|proof|shutdown|emergency-stop|reload-config|\.well-known\/jwks\.json|send|logs|events|send\/deliveries|send\/deliveries\/\{id\}|api\/v1\/droplets(\/\{id\}(\/(actions|console|metrics|events))?)?)$/;

/** The operations of an OpenAPI document. */
export function operationsOf(doc: any): FuzzOperation[] {
  const ops: FuzzOperation[] = [];
  for (const [path, methods] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(methods)) {
      const params: any[] = op.parameters ?? [];
      const param = (p: any): FuzzParam => ({ name: p.name, required: p.required === true || p.in === 'path', schema: p.schema ?? {} });
      ops.push({
        method: method.toUpperCase(),
        path,
        family: MULTI_CLOUD.test(path) || UDC.test(path) ? 'detail' : 'v1',
        auth: Array.isArray(op.security) && op.security.length > 0,
        idempotent: params.some((p) => p.in === 'header' && p.name === 'Idempotency-Key'),
        pathParams: params.filter((p) => p.in === 'path').map(param),
        queryParams: params.filter((p) => p.in === 'query').map(param),
        body: op.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return ops;
}

/** Strings tried, in order, for a value that must match a pattern. */
const STRING_CANDIDATES = ['nosuchthing', 'srv-0123456789ab', 'tsk-0123456789ab', 'k0123456789ab', '/srv/x', 'USD', '1-0', '1', 'web-01', 'a'];

function typesOf(schema: Schema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  if (typeof schema.type === 'string') return [schema.type];
  if (schema.properties) return ['object'];
  return [];
}

/** A value the schema accepts, as far as a small sampler can tell (examples first). */
export function sample(schema: Schema): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.example !== undefined) return schema.example;
  if (schema.enum) return schema.enum[0];
  if (schema.oneOf) return sample(schema.oneOf[0]);
  if (schema.anyOf) return sample(schema.anyOf[0]);
  if (schema.default !== undefined) return schema.default;
  const type = typesOf(schema).find((t) => t !== 'null') ?? 'string';
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const name of schema.required ?? []) out[name] = sample(schema.properties?.[name] ?? {});
      return out;
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sample(schema.items ?? {}));
    case 'integer':
    case 'number':
      return Math.max(schema.minimum ?? 1, Math.min(schema.maximum ?? 1, 1));
    case 'boolean':
      return false;
    default: {
      if (schema.format === 'date-time') return '2024-01-01T00:00:00Z';
      if (schema.format === 'email') return 'nobody@example.com';
      if (schema.format === 'uri') return 'https://example.com/x';
      const min = schema.minLength ?? 1;
      const fits = (s: string) => s.length >= min && s.length <= (schema.maxLength ?? Infinity) && (!schema.pattern || new RegExp(schema.pattern, 'u').test(s));
      const found = STRING_CANDIDATES.find(fits) ?? STRING_CANDIDATES.map((c) => c.repeat(Math.ceil(min / c.length))).find(fits);
      return found ?? 'x'.repeat(min);
    }
  }
}

/** A value of a type the schema does not allow, or undefined when it allows any. */
function wrongTyped(schema: Schema): unknown {
  const types = typesOf(schema.oneOf?.[0] ?? schema);
  if (!types.length || schema.oneOf || schema.anyOf) return types.includes('object') ? 42 : types.length ? 'not-a-' + types[0] : undefined;
  if (!types.includes('integer') && !types.includes('number')) return 12345;
  if (!types.includes('string')) return 'twelve';
  if (!types.includes('object')) return { nested: true };
  return undefined;
}

function nested(depth: number, leaf: unknown = 1, kind: 'object' | 'array' = 'object'): string {
  const open = kind === 'object' ? '{"a":' : '[';
  const close = kind === 'object' ? '}' : ']';
  return open.repeat(depth) + JSON.stringify(leaf) + close.repeat(depth);
}

const CONTROL = 'a\u0000b\u0007c\u001b[31md\u202ee\u2028f\uFEFF\uD83D\uDCA5 ñ 𝔘';
const PROTO_JSON = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}';

/** Percent-encodings that do not decode to UTF-8: bad hex, cut short, overlong, a lone surrogate. */
export const BAD_PERCENT = ['%zz', '%E0%A4%A', '%C0%AE%C0%AE', '%', '%G1', '%ED%A0%80', 'a%FFb'];

/** Path values that decode, each with whether the server decodes it to itself (so the local check can see it). */
const ODD_PATH_VALUES = [
  'x'.repeat(2000),
  'x'.repeat(12000),
  encodeURIComponent('ñ💥'),
  '%00',
  '%0A',
  '%2F',
  '%2e%2e',
  '..',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'null',
  '-1',
  '%20',
  encodeURIComponent("'; DROP TABLE servers; --"),
  encodeURIComponent('<script>alert(1)</script>'),
  encodeURIComponent(CONTROL),
];

const INTEGER_VALUES = ['-1', '0', '1e100', '99999999999999999999999', 'abc', '', '1.5', 'NaN', '0x10', 'Infinity', '%zz'];
const STRING_VALUES = ['x'.repeat(10000), encodeURIComponent(CONTROL), '%zz', '__proto__', '', '%00'];
const BOOLEAN_VALUES = ['maybe', '2', ''];

interface Draft {
  kind: string;
  /** Another method than the operation's, on its path. */
  method?: string;
  pathValues?: Record<string, string>;
  query?: string;
  /** The body as sent, and what the parser makes of it. */
  body?: { bytes: Buffer | string; parsed: Parsed; headers?: Record<string, string> };
  headers?: Record<string, string>;
  credential?: Credential;
  expectField?: string;
  expectStatus?: number[];
  /** The case is only worth sending with the admin token (its point is what validation says). */
  adminOnly?: boolean;
}

function json(value: unknown): { bytes: string; parsed: Parsed } {
  return { bytes: JSON.stringify(value), parsed: { kind: 'json', value } };
}

function rawJson(text: string): { bytes: string; parsed: Parsed } {
  try {
    return { bytes: text, parsed: { kind: 'json', value: JSON.parse(text) } };
  } catch {
    return { bytes: text, parsed: { kind: 'refused' } };
  }
}

export interface Generated {
  cases: FuzzCase[];
  /** Cases left out because they could have changed something with a token and would teach nothing without. */
  skipped: number;
}

/**
 * Every case for every operation. `tenMegabyteOps` is how many operations also get a 10 MB
 * body (the rest get 1 MB), to keep the run short.
 */
export function generate(ops: FuzzOperation[], opts: { tenMegabyteOps?: number } = {}): Generated {
  const cases: FuzzCase[] = [];
  let skipped = 0;
  let idempotencyKeys = 0;
  ops.forEach((op, index) => {
    const pathBase: Record<string, string> = {};
    for (const p of op.pathParams) pathBase[p.name] = encodeURIComponent(String(sample({ ...p.schema, example: undefined })));
    const queryBase = '';
    const bodyBase = op.body ? (sample(op.body) as Record<string, unknown>) : undefined;
    const bodyValidate = op.body ? strictAjv.compile(op.body) : undefined;
    const pathValidate = compileParams(op.pathParams);
    const queryValidate = compileParams(op.queryParams);

    const drafts: Draft[] = [];
    const withBody = (kind: string, value: unknown, extra: Partial<Draft> = {}) => drafts.push({ kind, body: json(value), ...extra });

    // The operation as the sampler sees it valid, so the mutations below differ from it in one thing.
    drafts.push({ kind: 'base', ...(bodyBase !== undefined ? { body: json(bodyBase) } : {}) });

    // Body fields: missing, null, wrong type, huge, control characters, deep, prototype keys.
    if (op.body?.properties && bodyBase && typeof bodyBase === 'object') {
      for (const [name, schema] of Object.entries<Schema>(op.body.properties)) {
        const required = (op.body.required ?? []).includes(name);
        const set = (v: unknown) => ({ ...bodyBase, [name]: v });
        if (required) {
          const { [name]: _gone, ...rest } = bodyBase;
          withBody(`missing ${name}`, rest, { expectField: name, adminOnly: true });
        }
        if (!typesOf(schema).includes('null')) withBody(`null ${name}`, set(null), { expectField: name, adminOnly: true });
        const wrong = wrongTyped(schema);
        if (wrong !== undefined) withBody(`wrong type ${name}`, set(wrong), { expectField: name, adminOnly: true });
        const types = typesOf(schema);
        if (types.includes('string') || !types.length) {
          withBody(`huge ${name}`, set('x'.repeat(100_000)));
          withBody(`control characters ${name}`, set(CONTROL));
        }
        if (types.includes('array')) withBody(`20000 items ${name}`, set(Array.from({ length: 20000 }, () => sample(schema.items ?? {}))));
        if (types.includes('integer') || types.includes('number')) {
          withBody(`huge number ${name}`, set(1e308));
          withBody(`negative ${name}`, set(-1));
          // 1e400 parses to Infinity.
          drafts.push({ kind: `overflowing number ${name}`, body: { bytes: JSON.stringify(set(0)).replace(`${JSON.stringify(name)}:0`, `${JSON.stringify(name)}:1e400`), parsed: { kind: 'json', value: set(Infinity) } }, expectField: name, adminOnly: true });
        }
        // One level down, where a field is an object with its own fields (quotas, say).
        if (schema.properties) {
          const inner = sample(schema) as Record<string, unknown>;
          for (const [child, childSchema] of Object.entries<Schema>(schema.properties)) {
            const field = `${name}.${child}`;
            const wrongChild = wrongTyped(childSchema);
            if (wrongChild !== undefined) withBody(`wrong type ${field}`, set({ ...inner, [child]: wrongChild }), { expectField: field, adminOnly: true });
            if (!typesOf(childSchema).includes('null')) withBody(`null ${field}`, set({ ...inner, [child]: null }), { expectField: field, adminOnly: true });
          }
          if (schema.additionalProperties === false) withBody(`extra field in ${name}`, set({ ...inner, zz_not_a_field: 1 }), { expectField: `${name}.zz_not_a_field`, adminOnly: true });
        }
        const text = JSON.stringify(bodyBase).slice(0, -1);
        const sep = Object.keys(bodyBase).length ? ',' : '';
        drafts.push({ kind: `deep ${name}`, body: { bytes: `${text}${sep}${JSON.stringify(name)}:${nested(100)}}`, parsed: { kind: 'refused' } }, expectField: 'body', expectStatus: [400] });
        drafts.push({ kind: `nested 40 ${name}`, body: rawJson(`${text}${sep}${JSON.stringify(name)}:${nested(40)}}`) });
        drafts.push({ kind: `prototype keys in ${name}`, body: rawJson(`${text}${sep}${JSON.stringify(name)}:${PROTO_JSON}}`) });
      }
      const text = JSON.stringify(bodyBase).slice(0, -1);
      const sep = Object.keys(bodyBase).length ? ',' : '';
      withBody('extra field', { ...bodyBase, zz_not_a_field: 1 }, op.body.additionalProperties === false ? { expectField: 'zz_not_a_field', adminOnly: true } : {});
      drafts.push({ kind: 'top-level prototype keys', body: rawJson(`${text}${sep}${PROTO_JSON.slice(1)}`) });
    }

    // The body as a whole, for every operation (a GET's body is read and dropped, but read).
    const baseText = JSON.stringify(bodyBase ?? { probe: true });
    const refused = (bytes: Buffer | string, headers?: Record<string, string>) => ({ bytes, parsed: { kind: 'refused' } as Parsed, headers });
    drafts.push(
      { kind: 'no body' },
      { kind: 'empty body', body: { bytes: '', parsed: { kind: 'none' } } },
      { kind: 'array body', body: json([bodyBase ?? {}]) },
      { kind: 'string body', body: refused('"text"') },
      { kind: 'number body', body: refused('42') },
      { kind: 'null body', body: refused('null') },
      { kind: 'truncated JSON', body: refused(baseText.slice(0, Math.max(1, Math.floor(baseText.length / 2)))) },
      { kind: 'trailing comma', body: refused('{"a":1,}') },
      { kind: 'single quotes', body: refused("{'a':1}") },
      { kind: 'NaN', body: refused('{"a":NaN}') },
      { kind: 'byte order mark', body: { bytes: '\uFEFF' + baseText, parsed: { kind: 'unknown' } } },
      { kind: 'invalid UTF-8', body: { bytes: Buffer.concat([Buffer.from('{"zz":"'), Buffer.from([0xff, 0xfe, 0xc0, 0xae]), Buffer.from('"}')]), parsed: { kind: 'unknown' } } },
      { kind: 'duplicate keys', body: { bytes: baseText.slice(0, -1) + (baseText.length > 2 ? ',' : '') + '"zz":1,"zz":2}', parsed: { kind: 'unknown' } } },
      { kind: 'deep array 5000', body: refused('['.repeat(5000) + ']'.repeat(5000)), expectField: 'body', expectStatus: [400] },
      { kind: 'deep object 5000', body: refused(nested(5000)), expectField: 'body', expectStatus: [400] },
      { kind: 'deep array 100000', body: refused('['.repeat(100_000) + ']'.repeat(100_000)), expectField: 'body', expectStatus: [400] },
      { kind: 'nested 64', body: { bytes: nested(63), parsed: { kind: 'json', value: JSON.parse(nested(63)) } } },
      { kind: 'text/plain', body: { ...json(bodyBase ?? {}), headers: { 'content-type': 'text/plain' } } },
      { kind: 'form-urlencoded', body: refused('a=1&b=2', { 'content-type': 'application/x-www-form-urlencoded' }) },
      { kind: 'multipart', body: refused('--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n', { 'content-type': 'multipart/form-data; boundary=x' }) },
      { kind: 'xml', body: refused('<a>1</a>', { 'content-type': 'application/xml' }) },
      { kind: 'no content-type', body: { ...json(bodyBase ?? {}), headers: { 'content-type': '' } } },
      { kind: 'charset latin1', body: refused(baseText, { 'content-type': 'application/json; charset=latin1' }), expectStatus: [415] },
      { kind: 'charset utf-16', body: { bytes: baseText, parsed: { kind: 'unknown' }, headers: { 'content-type': 'application/json; charset=utf-16' } } },
      { kind: 'gzip garbage', body: refused('this is not gzip', { 'content-encoding': 'gzip' }), expectStatus: [400] },
      { kind: 'deflate garbage', body: refused('this is not deflate', { 'content-encoding': 'deflate' }), expectStatus: [400] },
      { kind: 'br garbage', body: refused('this is not brotli', { 'content-encoding': 'br' }), expectStatus: [400] },
      { kind: 'unknown encoding', body: refused(baseText, { 'content-encoding': 'bogus' }), expectStatus: [415] },
      { kind: 'two encodings', body: refused(baseText, { 'content-encoding': 'gzip, br' }), expectStatus: [415] },
      { kind: 'gzip', body: { bytes: gzipSync(baseText), parsed: { kind: 'json', value: JSON.parse(baseText) }, headers: { 'content-encoding': 'gzip' } } },
      { kind: 'gzip bomb', body: refused(GZIP_BOMB, { 'content-encoding': 'gzip' }), expectStatus: [413] },
      { kind: '1 MB body', body: refused(`{"a":"${'x'.repeat(1_000_000)}"}`), expectStatus: [413] },
    );
    if (index < (opts.tenMegabyteOps ?? 0)) drafts.push({ kind: '10 MB body', body: refused(`{"a":"${'x'.repeat(10_000_000)}"}`), expectStatus: [413] });

    // Path parameters: percent-encoding that does not decode, very long, odd and hostile values.
    for (const p of op.pathParams) {
      for (const bad of BAD_PERCENT) drafts.push({ kind: `bad percent-encoding in ${p.name}`, pathValues: { [p.name]: bad }, expectField: `path.${p.name}`, expectStatus: [400] });
      for (const odd of ODD_PATH_VALUES) drafts.push({ kind: `odd ${p.name}`, pathValues: { [p.name]: odd } });
      // Past Node's 16 kB header limit: Node answers 431 itself.
      drafts.push({ kind: `header-sized ${p.name}`, pathValues: { [p.name]: 'x'.repeat(20000) }, expectStatus: [431] });
    }

    // Query parameters: absurd numbers and pagination, wrong types, repeats, hostile keys.
    for (const p of op.queryParams) {
      const types = typesOf(p.schema);
      const values = types.includes('integer') || types.includes('number') ? INTEGER_VALUES : types.includes('boolean') ? BOOLEAN_VALUES : STRING_VALUES;
      for (const v of values) drafts.push({ kind: `query ${p.name}`, query: `${p.name}=${v}` });
      drafts.push({ kind: `repeated ${p.name}`, query: `${p.name}=1&${p.name}=2` });
    }
    drafts.push(
      { kind: 'unknown query', query: 'zz_unknown=1' },
      { kind: 'prototype query', query: '__proto__[polluted]=yes&constructor[prototype][polluted]=yes&__proto__=x' },
      { kind: '1500 query parameters', query: Array.from({ length: 1500 }, (_, i) => `p${i}=${i}`).join('&') },
      { kind: 'absurd pagination', query: 'limit=1000000000000&cursor=-1&from=-5' },
    );

    // Other methods on the same path: OPTIONS, HEAD (for reads), and one no route takes.
    drafts.push({ kind: 'OPTIONS', method: 'OPTIONS' }, { kind: 'PUT', method: 'PUT', body: json(bodyBase ?? {}) });
    if (op.method === 'GET') drafts.push({ kind: 'HEAD', method: 'HEAD' });

    // Credentials: none, garbage, forged, wrong scheme, an API key that is not one.
    if (op.auth) for (const credential of ['none', 'garbage', 'forged', 'basic', 'api-key', 'empty-bearer'] as const) drafts.push({ kind: `credential ${credential}`, credential, ...(bodyBase !== undefined ? { body: json(bodyBase) } : {}), expectStatus: [401] });

    // Idempotency keys that are not keys.
    if (op.idempotent) {
      drafts.push({ kind: 'idempotency key too long', headers: { 'idempotency-key': 'k'.repeat(300) }, ...(bodyBase !== undefined ? { body: json(bodyBase) } : {}), expectField: 'header.Idempotency-Key', adminOnly: true });
      drafts.push({ kind: 'deep body with idempotency key', headers: { 'idempotency-key': 'deep-' + index }, body: refused(nested(6000)), expectField: 'body', expectStatus: [400] });
    }

    for (const d of drafts) {
      const pathValues = { ...pathBase, ...d.pathValues };
      const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => pathValues[name] ?? 'x') + (d.query ? `?${d.query}` : queryBase);
      const parsed: Parsed = d.body ? d.body.parsed : { kind: 'none' };
      // Could this request reach the handler? Only then does it go out without a valid token.
      // Reads, routes whose ids name nothing that exists and routes without a token to misuse cannot.
      const method = d.method ?? op.method;
      const harmless = method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'PUT' || op.pathParams.length > 0 || !op.auth;
      const reachesHandler = !harmless && isValid(parsed, bodyValidate, pathValues, pathValidate, d.query ?? '', queryValidate);
      let credential = d.credential ?? 'admin';
      if (credential === 'admin' && reachesHandler) {
        if (d.adminOnly) {
          skipped++;
          continue;
        }
        credential = cases.length % 2 ? 'none' : 'garbage';
      }
      const headers: Record<string, string> = { ...(d.body?.bytes !== undefined ? { 'content-type': 'application/json' } : {}), ...d.body?.headers, ...d.headers };
      if (headers['content-type'] === '') delete headers['content-type'];
      if (op.idempotent && credential === 'admin' && !headers['idempotency-key'] && cases.length % 3 === 0) headers['idempotency-key'] = `fuzz-${++idempotencyKeys}`;
      cases.push({
        op,
        kind: d.kind,
        method,
        path,
        headers,
        ...(d.body ? { body: d.body.bytes } : {}),
        credential,
        // Without a valid token, a request whose body the parser reads is refused for that (401);
        // one it refuses gets the parser's answer first.
        ...(credential === 'admin' || !op.auth ? { expectField: d.expectField, expectStatus: d.expectStatus } : { expectStatus: d.expectStatus ?? (parsed.kind === 'json' || parsed.kind === 'none' ? [401] : undefined) }),
      });
    }
  });
  return { cases, skipped };
}

/** 20 MB of spaces (valid JSON whitespace) in a few kilobytes of gzip. */
const GZIP_BOMB = gzipSync(Buffer.alloc(20_000_000, 0x20), { level: 9 });

function compileParams(params: FuzzParam[]): ValidateFunction | undefined {
  if (!params.length) return undefined;
  const schema = {
    type: 'object',
    properties: Object.fromEntries(params.map((p) => [p.name, p.schema])),
    required: params.filter((p) => p.required).map((p) => p.name),
  };
  return coercingAjv.compile(schema);
}

function decode(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

/**
 * Whether the server could find every part of the request valid, as its own schemas see it
 * (the document's schemas are the ones the routes validate with). Conservative: anything this
 * cannot tell counts as valid.
 */
function isValid(parsed: Parsed, body: ValidateFunction | undefined, pathValues: Record<string, string>, path: ValidateFunction | undefined, query: string, queryCheck: ValidateFunction | undefined): boolean {
  if (parsed.kind === 'refused') return false;
  if (body) {
    // With no body at all, a route whose body is optional validates `{}`.
    const value = parsed.kind === 'json' ? parsed.value : parsed.kind === 'none' ? {} : undefined;
    if (parsed.kind !== 'unknown' && !body(value)) return false;
  }
  if (path) {
    const decoded: Record<string, string> = {};
    for (const [k, v] of Object.entries(pathValues)) {
      const d = decode(v);
      if (d === null) return false;
      decoded[k] = d;
    }
    if (!path(decoded)) return false;
  }
  if (queryCheck && query && !queryCheck({ ...parseQuery(query) })) return false;
  return true;
}
