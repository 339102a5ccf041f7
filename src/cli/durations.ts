import { InvalidArgumentError } from 'commander';

/** `500ms`, `30s`, `5m`, `1h`, or a bare number of seconds, as milliseconds (a commander argument parser). */
export function parseDuration(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 30s, 5m, 1h or 500ms');
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
  if (!Number.isFinite(ms) || ms <= 0) throw new InvalidArgumentError('must be more than zero');
  return Math.round(ms);
}

/** A positive integer (a commander argument parser). */
export function parsePositiveInt(raw: string): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) throw new InvalidArgumentError('expected a positive whole number');
  return Number(raw);
}

/** Collects a repeatable option's values (a commander argument parser). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
