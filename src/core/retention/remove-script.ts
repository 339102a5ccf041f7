/**
 * The one write that removes finished operations: a batch of them, with every key that holds
 * a part of one (record, events list, logs, journal) and its row (see operations/rows.ts).
 *
 * KEYS: the list of every bucket of rows, the droplet's last-completed pointer, the operation
 * counters (operations/counts.ts: a removed operation leaves them in the same write), then
 * KEYS_PER_OPERATION keys for each operation (see removalKeys). Its row's bucket follows from
 * the sequence in its record, under the same prefix (and, on a cluster, the same hash slot).
 *
 * ARGV: the key prefix, the cutoff (epoch ms), then per operation its id, its root (its own id,
 * or for a workflow step the workflow's) and the root's creation sequence. Steps come before
 * their workflow, so a workflow never goes while one of its steps remains.
 *
 * Each operation is checked again here, atomically with its removal: its root's row says it
 * finished at or before the cutoff and its record is finished. Anything else is left alone,
 * whatever the caller planned. A root whose record is gone (damage) loses its row. Returns
 * {microseconds spent, ...ids removed}.
 */
import { OPERATION_COUNTS } from '../operations/counts.js';
import { ROW_FUNCTIONS } from '../operations/rows.js';

export const KEYS_PER_OPERATION = 4;

export const REMOVE_FINISHED_OPERATIONS = `
${OPERATION_COUNTS}
${ROW_FUNCTIONS}
local t0 = redis.call('TIME')
local last, counts = KEYS[2], KEYS[3]
local prefix, cutoff = ARGV[1], tonumber(ARGV[2])
local removed = {}
for i = 0, (#KEYS - 3) / ${KEYS_PER_OPERATION} - 1 do
  local k = 3 + i * ${KEYS_PER_OPERATION}
  local id, root, root_seq = ARGV[3 + i * 3], ARGV[4 + i * 3], ARGV[5 + i * 3]
  local root_row = redis.call('HGET', rows_key(prefix, row_bucket(root_seq)), root_seq)
  local r = root_row and row_fields(root_row)
  if r and r.id == root and r.finished ~= '' and tonumber(r.finished) <= cutoff then
    local op = redis.call('HMGET', KEYS[k + 1], 'status', 'seq', 'type', 'workspace')
    local status = op[1]
    if status == 'completed' or status == 'failed' or status == 'cancelled' then
      if counted(counts, op[2]) then count_op(counts, op[3], op[4], status, -1) end
      -- UNLINK: a long log list is freed off the main thread.
      redis.call('UNLINK', KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4])
      row_remove(prefix, op[2])
      -- GET /proof then answers that nothing has completed rather than naming a record that is gone.
      if redis.call('GET', last) == id then redis.call('DEL', last) end
      removed[#removed + 1] = id
    elseif not status and id == root then
      redis.call('UNLINK', KEYS[k + 2], KEYS[k + 3], KEYS[k + 4])
      row_remove(prefix, root_seq)
    end
  end
end
local t1 = redis.call('TIME')
local spent = (tonumber(t1[1]) - tonumber(t0[1])) * 1000000 + tonumber(t1[2]) - tonumber(t0[2])
table.insert(removed, 1, spent)
return removed`;
