/**
 * What a finished operation keeps in Redis (issue 13: its footprint). It is kept for as long
 * as OPERATION_RETENTION says, which may be weeks, while what only a running operation needs
 * is of no use to anyone once it has ended. The finishing transition runs this in the same
 * script, so a finished record is never seen in its long form and it costs no round trip.
 *
 * - Its lane bookkeeping goes (a finished operation is in no lane).
 * - Its own list of event ids becomes one field of the record (FINISHED_EVENTS_FIELD, the
 *   ids comma-separated, oldest first) holding only its state changes and cancel requests:
 *   its progress notes stay in its log, and a list key of its own costs several times the
 *   bytes of its few ids.
 * - A short log (most server operations write a handful of engine lines) likewise becomes one
 *   field (FINISHED_LOG_FIELD, a JSON array of the stored lines, in order), short enough that a
 *   record stays in Redis's compact encoding (see supervisor/redis-tuning.ts); a longer one
 *   stays a list, capped as it was written (MAX_LOG_LINES). Positions do not change, so a
 *   reader paging through it goes on where it was.
 */

import { deflateRawSync, inflateRawSync } from 'node:zlib';

/** The record's field that holds a finished operation's event ids, comma-separated, oldest first. */
export const FINISHED_EVENTS_FIELD = 'events';

/** The record's field that holds a finished operation's short log: a JSON array of its stored lines. */
export const FINISHED_LOG_FIELD = 'logs';

/** A log is folded into its record only when it has at most this many lines, of at most FOLDED_LOG_BYTES together. */
export const FOLDED_LOG_LINES = 32;
/** Under the managed Redis's hash-max-listpack-value (1024), so the record keeps its compact encoding. */
export const FOLDED_LOG_BYTES = 960;

/** Lua: compact_finished(prefix, key), for the transition script once the operation has reached a terminal state. */
export const COMPACT_FINISHED = `
local function compact_finished(prefix, key)
  redis.call('HDEL', key, 'lane', 'blocked_by')
  local log = key .. ':logs'
  local lines = redis.call('LLEN', log)
  if lines > 0 and lines <= ${FOLDED_LOG_LINES} and redis.call('HEXISTS', key, '${FINISHED_LOG_FIELD}') == 0 then
    local folded = '[' .. table.concat(redis.call('LRANGE', log, 0, -1), ',') .. ']'
    if #folded <= ${FOLDED_LOG_BYTES} then
      redis.call('HSET', key, '${FINISHED_LOG_FIELD}', folded)
      redis.call('DEL', log)
    end
  end
  local list = key .. ':events'
  local kept = {}
  for _, event_id in ipairs(redis.call('LRANGE', list, 0, -1)) do
    local entry = redis.call('XRANGE', prefix .. ':events', event_id, event_id)[1]
    -- An id the stream has already trimmed away would be skipped by every reader: it is not kept.
    if entry then
      local fields, kind = entry[2], nil
      for i = 1, #fields, 2 do
        if fields[i] == 'kind' then kind = fields[i + 1]; break end
      end
      if kind ~= 'progress' then kept[#kept + 1] = event_id end
    end
  end
  redis.call('HSET', key, '${FINISHED_EVENTS_FIELD}', table.concat(kept, ','))
  redis.call('DEL', list)
end`;

/** A finished operation's event ids from its record's field; [] when it has none. */
export function finishedEventIds(field: string | null | undefined): string[] {
  return field ? field.split(',').filter((id) => id !== '') : [];
}

/**
 * Packing (issue 13: at most 1 KB of Redis per finished operation). Once finished, a record's
 * fields that nothing reads one by one (its request, result, progress, times, folded log and
 * event ids…) become one value, PACKED_FIELD: their JSON, deflated against a fixed dictionary
 * of what records commonly hold (key names, a server's result, the engine's own log lines), seven
 * bits to a character (ASCII: every client reads it as the same text, where deflate's bytes
 * would not survive a UTF-8 decode; and smaller than base64). A server.create's 1.5 KB
 * of fields packs into about 260 bytes. The fields scripts read from a finished record (status,
 * type, workspace, seq, parent_id, and retried_by written later) stay as they are.
 *
 * It runs right after the finishing transition (store.ts), once the record can no longer
 * change; until then, and for records finished before packing existed, the fields are read as
 * they are. expandFinished turns a packed record back into its fields, the same values
 * (a JSON one as the same JSON), so every reader answers exactly as before.
 */

/** The record's field that holds its packed fields. */
export const PACKED_FIELD = 'z';

/** Names the dictionary a packed value was deflated with; a new dictionary gets a new tag, and old values still open. */
const PACK_TAG = 'z1:';

/** Fields whose stored value is JSON: packed as the value itself, so their quotes are not escaped. */
const PACKED_JSON = new Set(['target', 'request', 'progress', 'result', 'error', FINISHED_LOG_FIELD]);

/** What is packed, in this order; anything else stays a field of its own. */
export const PACKED_FIELDS: readonly string[] = [
  'id',
  // Read one by one only while the operation is open (its queue, an intake pause, a lane's wake-up).
  'provider',
  'trace_id',
  'requested_by',
  'created_at',
  'started_at',
  'updated_at',
  'finished_at',
  'attempt',
  'cancel_requested_at',
  'cancel_requested_by',
  'retry_of',
  FINISHED_EVENTS_FIELD,
  'target',
  'request',
  'progress',
  'error',
  'result',
  FINISHED_LOG_FIELD,
];

/**
 * The deflate dictionary of PACK_TAG. Never edit it: values packed with it would no longer
 * open. Deflate refers back into it, nearest (cheapest) at its end, so what nearly every record
 * holds comes last.
 */
const DICTIONARY_V1 = Buffer.from(
  [
    '"server.delete","server.action","server.resize","taskserv.create","taskserv.delete","workflow.cluster_create","workflow.cluster_delete","workflow.server_batch_create",',
    '"taskserv_id":"tsk-","taskserv":"","servers":[],"steps":[{"id":"","type":"","depends_on":[],"params":{',
    '"action":"power_off","power_on","reboot","new_plan":"","old_plan":"","deleted":true,"already_gone":false,',
    '"error":{"code":"PROVIDER_ERROR","message":"","retryable":false},"code":"OPERATION_CANCELLED","Operation cancelled by ',
    '"user_data":"","ssh_keys":[],"image":"ubuntu-22-04-x64","debian-12","ubuntu-24.04","image":"ubuntu-24-04-x64",',
    '"hetzner","vultr","upcloud","region":"","size":"","cx22","fsn1","vc2-1c-1gb","ewr","1xCPU-1GB","de-fra1","s-2vcpu-2gb","s-1vcpu-1gb","nyc1","sfo3","ams3","fra1",',
    '{"step":"queued","message":"queued behind ","waiting_for_operation":"',
    '{"step":"wait","message":"waiting for droplet  to become active","waiting_for":"droplet  active","waiting_since":"2026-01-01T00:00:00.000Z","provider_status":"new"}',
    '{"id":"","provider":"hetzner","trace_id":"","requested_by":"","target":{"server_id":"srv-"},"request":{"workspace":"default","provider":"vultr","plan":"","zone":"","check_mode":true,"tags":[]},',
    '{"id":"","provider":"digitalocean","trace_id":"","requested_by":"admin","created_at":"2026-","started_at":"2026-","updated_at":"2026-","finished_at":"2026-","attempt":"1","events":"17',
    '","target":{"hostname":"web-"},"request":{"workspace":"production","provider":"digitalocean","plan":"s-1vcpu-1gb","zone":"nyc3","check_mode":false,"tags":["web"],"hostname":"web-',
    '"},"progress":{"step":"running","message":"digitalocean server  is running at ","at":"2026-',
    '"},"result":{"server_id":"srv-","ip_address":"","provider_id":"","resumed":false,"server":{"id":"srv-","hostname":"web-","provider":"digitalocean","provider_id":"","plan":"s-1vcpu-1gb","zone":"nyc3","image":"ubuntu-24-04-x64","ip_address":"","status":"running","provider_status":"active","tags":["web"],"workspace":"production","operation_id":"","created_at":"2026-","updated_at":"2026-',
    '"}},"logs":[{"at":"2026-","line":"creating web- (s-1vcpu-1gb in nyc3) on digitalocean"},{"at":"2026-","line":"waiting for droplet  to become active"},{"at":"2026-","line":"digitalocean server  is running at "}]}',
  ].join(''),
);

/**
 * The packed value of a finished record's fields, the fields it replaces, and its JSON fields
 * as parsed on the way (for a caller about to parse them too); null when there is nothing to pack.
 */
export function packFinished(hash: Record<string, string>): { packed: string; fields: string[]; json: Record<string, unknown> } | null {
  if (hash[PACKED_FIELD] !== undefined) return null;
  const out: Record<string, unknown> = {};
  const json: Record<string, unknown> = {};
  const fields: string[] = [];
  for (const name of PACKED_FIELDS) {
    const value = hash[name];
    if (value === undefined) continue;
    if (PACKED_JSON.has(name)) out[name] = json[name] = JSON.parse(value);
    else out[name] = value;
    fields.push(name);
  }
  if (fields.length === 0) return null;
  // JSON values go in parsed: every reader parses them, so what it answers is the same (a JSON
  // field written by a Lua script may have escaped a '/' that comes back unescaped).
  return { packed: PACK_TAG + toSevenBits(deflateRawSync(JSON.stringify(out), { dictionary: DICTIONARY_V1 })), fields, json };
}

/** Bytes as characters 0-127, seven bits each, most significant first; the last one padded with zeros. */
export function toSevenBits(bytes: Uint8Array): string {
  const codes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 7) {
      bits -= 7;
      codes.push((acc >> bits) & 0x7f);
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) codes.push((acc << (7 - bits)) & 0x7f);
  return String.fromCharCode(...codes);
}

/** The bytes of toSevenBits's text: ⌊7 × length ÷ 8⌋ of them, the padding dropped. */
export function fromSevenBits(text: string): Buffer {
  const out = Buffer.alloc(Math.floor((text.length * 7) / 8));
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < text.length && n < out.length; i++) {
    acc = (acc << 7) | (text.charCodeAt(i) & 0x7f);
    bits += 7;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

/** A record as stored, its packed fields (if any) opened: fields of its own win over packed ones. */
export function expandFinished(hash: Record<string, string>): Record<string, string> {
  const packed = hash[PACKED_FIELD];
  if (packed === undefined) return hash;
  return { ...unpackFinished(packed), ...hash };
}

/**
 * A record as stored, opened for a reader that parses its JSON fields anyway (store.ts): its
 * plain fields as strings, and the JSON ones it held packed already parsed in `json`, so a page
 * of records is not parsed twice.
 */
export function openRecord(hash: Record<string, string>): { fields: Record<string, string>; json: Record<string, unknown> } {
  const packed = hash[PACKED_FIELD];
  if (packed === undefined) return { fields: hash, json: {} };
  const fields: Record<string, string> = {};
  const json: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(openPacked(packed))) {
    if (!PACKED_JSON.has(name)) fields[name] = String(value);
    else if (hash[name] === undefined) json[name] = value;
  }
  return { fields: Object.assign(fields, hash), json };
}

/** The fields one packed value holds, each as its stored string. */
export function unpackFinished(packed: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(openPacked(packed))) out[name] = PACKED_JSON.has(name) ? JSON.stringify(value) : String(value);
  return out;
}

/**
 * The JSON text of packed values opened lately, by the packed value itself. A packed value
 * never changes (a record is packed once, after it finished), and finished operations are read
 * again and again (listing pages, polls, dashboards), while opening one costs a zlib stream of
 * its own each time: the cache keeps the text, and every read still parses its own copy.
 */
const openedLately = new Map<string, string>();
const OPENED_LATELY_MAX = 5_000;

function openPacked(packed: string): Record<string, unknown> {
  let text = openedLately.get(packed);
  if (text === undefined) {
    if (!packed.startsWith(PACK_TAG)) throw new Error(`an operation record's packed fields have an unknown form (${packed.slice(0, 8)}…)`);
    text = inflateRawSync(fromSevenBits(packed.slice(PACK_TAG.length)), { dictionary: DICTIONARY_V1 }).toString('utf8');
    if (openedLately.size >= OPENED_LATELY_MAX) openedLately.delete(openedLately.keys().next().value!);
    openedLately.set(packed, text);
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/** Some fields of a record, packed or not (HMGET of them and PACKED_FIELD). */
export function finishedFieldsOf(values: Array<string | null>, names: readonly string[]): Array<string | null> {
  const packed = values[names.length];
  if (!packed) return values.slice(0, names.length);
  const opened = unpackFinished(packed);
  return names.map((name, i) => values[i] ?? opened[name] ?? null);
}

/**
 * KEYS: the record. ARGV: the packed value, then the fields it replaces. Writes it only to a
 * finished record not packed yet (a removed one is not brought back); returns 1 when it did.
 * The record is written anew rather than trimmed: a hash that once held a long value (a large
 * request or sealed input) stays a hash table even once that value is gone, while a new one
 * of short values is a listpack (see supervisor/redis-tuning.ts).
 */
export const PACK_FINISHED = `
local key = KEYS[1]
local status = redis.call('HGET', key, 'status')
if status ~= 'completed' and status ~= 'failed' and status ~= 'cancelled' then return 0 end
if redis.call('HEXISTS', key, '${PACKED_FIELD}') == 1 then return 0 end
local replaced = {}
for i = 2, #ARGV do replaced[ARGV[i]] = true end
local kept = {'${PACKED_FIELD}', ARGV[1]}
local stored = redis.call('HGETALL', key)
for i = 1, #stored, 2 do
  if not replaced[stored[i]] then kept[#kept + 1] = stored[i]; kept[#kept + 1] = stored[i + 1] end
end
redis.call('DEL', key)
redis.call('HSET', key, unpack(kept))
return 1`;
