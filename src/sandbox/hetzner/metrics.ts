/**
 * `GET /v1/servers/{id}/metrics` of the simulated Hetzner Cloud API (hcloud-go
 * `ServerClient.GetMetrics`, `hcloud server metrics`): `type` (cpu, disk, network; repeated or
 * comma-separated), `start` and `end` (ISO 8601) required, `step` (seconds) optional. The answer:
 *
 *   {"metrics": {"start": "…", "end": "…", "step": 60,
 *     "time_series": {"cpu": {"values": [[1435781470.622, "42"], …]}, "disk.0.iops.read": …}}}
 *
 * Series per type: cpu → `cpu` (percent); disk → `disk.0.iops.read|write`,
 * `disk.0.bandwidth.read|write` (bytes/s); network → `network.0.pps.in|out`,
 * `network.0.bandwidth.in|out` (bytes/s). Values are strings, timestamps Unix seconds. Without
 * `step` one is chosen to give at most MAX_DEFAULT_SAMPLES points; a step that would give more
 * than MAX_SAMPLES is raised to fit (how the real API bounds an answer is not documented).
 */
import type { Request } from 'express';
import { invalidInput } from './errors.js';
import { queryValues } from './listing.js';
import type { HetznerServerRecord } from './store.js';
import { sampleTimes, usageLevel } from '../usage-series.js';

const TYPES = ['cpu', 'disk', 'network'] as const;
const MAX_DEFAULT_SAMPLES = 200;
const MAX_SAMPLES = 500;

const SERIES: Record<(typeof TYPES)[number], Array<{ key: string; scale: number; base?: number; swing?: number }>> = {
  cpu: [{ key: 'cpu', scale: 100 }],
  disk: [
    { key: 'disk.0.iops.read', scale: 400, base: 0.1, swing: 0.08 },
    { key: 'disk.0.iops.write', scale: 600, base: 0.15, swing: 0.1 },
    { key: 'disk.0.bandwidth.read', scale: 40 * 1024 * 1024, base: 0.1, swing: 0.08 },
    { key: 'disk.0.bandwidth.write', scale: 60 * 1024 * 1024, base: 0.15, swing: 0.1 },
  ],
  network: [
    { key: 'network.0.pps.in', scale: 20_000, base: 0.2, swing: 0.15 },
    { key: 'network.0.pps.out', scale: 20_000, base: 0.2, swing: 0.15 },
    { key: 'network.0.bandwidth.in', scale: 12_500_000, base: 0.2, swing: 0.15 },
    { key: 'network.0.bandwidth.out', scale: 12_500_000, base: 0.25, swing: 0.15 },
  ],
};

function isoTime(raw: string | undefined, field: string): number {
  const problem = (message: string) => invalidInput([{ name: field, messages: [message] }]);
  if (raw === undefined || raw === '') throw problem('is required');
  // ISO 8601 with a time and a zone, as the API documents.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(raw)) throw problem('must be an ISO 8601 timestamp');
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw problem('must be an ISO 8601 timestamp');
  return ms / 1000;
}

export function hetznerServerMetrics(req: Request, server: HetznerServerRecord, nowMs: number): unknown {
  const types = queryValues(req, 'type').flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
  if (types.length === 0) throw invalidInput([{ name: 'type', messages: ['is required'] }]);
  const unknown = types.find((t) => !(TYPES as readonly string[]).includes(t));
  if (unknown !== undefined) throw invalidInput([{ name: 'type', messages: [`'${unknown}' is not one of ${TYPES.join(', ')}`] }]);
  const start = isoTime(queryValues(req, 'start')[0], 'start');
  const end = isoTime(queryValues(req, 'end')[0], 'end');
  if (end < start) throw invalidInput([{ name: 'end', messages: ['must not be before start'] }]);
  const rawStep = queryValues(req, 'step')[0];
  let step: number;
  if (rawStep === undefined) {
    step = Math.max(1, Math.ceil((end - start) / MAX_DEFAULT_SAMPLES));
  } else {
    if (!/^\d{1,9}$/.test(rawStep) || Number(rawStep) < 1) throw invalidInput([{ name: 'step', messages: ['must be a positive integer number of seconds'] }]);
    step = Math.max(Number(rawStep), Math.ceil((end - start) / MAX_SAMPLES));
  }
  // Nothing is recorded before the server existed or after now.
  const times = sampleTimes(Math.max(start, server.createdAt / 1000), Math.min(end, nowMs / 1000), step);
  const key = `hetzner:${server.id}`;
  const timeSeries: Record<string, { values: Array<[number, string]> }> = {};
  for (const type of new Set(types) as Set<(typeof TYPES)[number]>) {
    for (const s of SERIES[type]) {
      timeSeries[s.key] = { values: times.map((t) => [t, format(s.scale * usageLevel(key, s.key, t, s.base, s.swing))]) };
    }
  }
  return { metrics: { start: new Date(start * 1000).toISOString(), end: new Date(end * 1000).toISOString(), step, time_series: timeSeries } };
}

function format(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}
