/**
 * `GET /v2/instances/{id}/bandwidth` of the simulated Vultr API (govultr
 * `InstanceService.GetBandwidth`): the instance's traffic per day,
 *
 *   {"bandwidth": {"2024-01-14": {"incoming_bytes": 15120000, "outgoing_bytes": 8340000}, …}}
 *
 * one entry per UTC day from the instance's creation (or `date_range` days back, default 30,
 * 1 to 60) through today, today's figure counting only up to now. That is all Vultr's API
 * says about an instance's usage: no CPU, memory or disk series.
 */
import type { Request } from 'express';
import { badRequest } from './errors.js';
import type { InstanceRecord } from './store.js';
import { counterAt } from '../usage-series.js';

const DAY = 86_400;
const DEFAULT_DAYS = 30;
const MAX_DAYS = 60;
/** Peak throughput the simulated traffic swings around, bytes per second. */
const PEAK = { in: 400_000, out: 250_000 };

export function instanceBandwidth(req: Request, instance: InstanceRecord, nowMs: number): unknown {
  const raw = (req.query as Record<string, unknown>).date_range;
  let days = DEFAULT_DAYS;
  if (raw !== undefined) {
    if (typeof raw !== 'string' || !/^\d{1,3}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_DAYS) {
      throw badRequest(`date_range must be a whole number of days from 1 to ${MAX_DAYS}`);
    }
    days = Number(raw);
  }
  const now = nowMs / 1000;
  const created = instance.createdAt / 1000;
  const today = Math.floor(now / DAY) * DAY;
  const key = `vultr:${instance.id}`;
  const bandwidth: Record<string, { incoming_bytes: number; outgoing_bytes: number }> = {};
  for (let day = today - (days - 1) * DAY; day <= today; day += DAY) {
    if (day + DAY <= created) continue;
    const from = Math.max(day, created);
    const to = Math.min(day + DAY, now);
    const bytes = (dir: 'in' | 'out') => Math.round(counterAt(key, `bandwidth.${dir}`, to, PEAK[dir], from, 0.3, 0.2));
    bandwidth[new Date(day * 1000).toISOString().slice(0, 10)] = { incoming_bytes: bytes('in'), outgoing_bytes: bytes('out') };
  }
  return { bandwidth };
}
