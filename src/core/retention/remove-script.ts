/**
 * The one write that removes finished operations: a batch of them, with every key that holds
 * a part of one (record, events list, logs, journal) and every index entry that names it.
 *
 * KEYS: the finished index, the droplet's last-completed pointer, the operation counters
 * (operations/counts.ts: a removed operation leaves them in the same write), then KEYS_PER_OPERATION
 * keys for each operation (see removalKeys). Every key is declared, so the script can move to
 * Redis Cluster once an operation's keys share a hash slot; the index keys follow from the
 * record's type, workspace and provider, which never change once it has finished.
 *
 * ARGV: the cutoff (epoch ms), then per operation its id and its root: its own id, or for a
 * workflow step the workflow's. Steps come before their workflow, so a workflow never goes
 * while one of its steps remains.
 *
 * Each operation is checked again here, atomically with its removal: its root is still in the
 * finished index at or before the cutoff and its record is finished. Anything else is left
 * alone, whatever the caller planned. Returns {microseconds spent, ...ids removed}.
 */
import { OPERATION_COUNTS } from '../operations/counts.js';

export const KEYS_PER_OPERATION = 9;

export const REMOVE_FINISHED_OPERATIONS = `
${OPERATION_COUNTS}
local t0 = redis.call('TIME')
local finished, last, counts = KEYS[1], KEYS[2], KEYS[3]
local cutoff = tonumber(ARGV[1])
local removed = {}
for i = 0, (#KEYS - 3) / ${KEYS_PER_OPERATION} - 1 do
  local k = 3 + i * ${KEYS_PER_OPERATION}
  local id, root = ARGV[2 + i * 2], ARGV[3 + i * 2]
  local score = redis.call('ZSCORE', finished, root)
  local status = redis.call('HGET', KEYS[k + 1], 'status')
  if score and tonumber(score) <= cutoff and (status == 'completed' or status == 'failed' or status == 'cancelled') then
    local op = redis.call('HMGET', KEYS[k + 1], 'seq', 'type', 'workspace')
    if counted(counts, op[1]) then count_op(counts, op[2], op[3], status, -1) end
    -- UNLINK: a long log list is freed off the main thread.
    redis.call('UNLINK', KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4])
    for j = 5, ${KEYS_PER_OPERATION} do redis.call('ZREM', KEYS[k + j], id) end
    if id == root then redis.call('ZREM', finished, id) end
    -- GET /proof then answers that nothing has completed rather than naming a record that is gone.
    if redis.call('GET', last) == id then redis.call('DEL', last) end
    removed[#removed + 1] = id
  end
end
local t1 = redis.call('TIME')
local spent = (tonumber(t1[1]) - tonumber(t0[1])) * 1000000 + tonumber(t1[2]) - tonumber(t0[2])
table.insert(removed, 1, spent)
return removed`;
