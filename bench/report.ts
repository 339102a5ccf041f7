/** The table the benchmark prints. */

export interface RatioRow {
  metric: string;
  engine: number;
  baseline: number;
  /** Minimum engine ÷ baseline. */
  target: number;
}

/**
 * A figure that must stay at or under `max`: `value` itself, or with `per` the ratio
 * value ÷ per (e.g. batch seconds ÷ boot seconds, requests ÷ creates).
 */
export interface CeilingRow {
  metric: string;
  value: number;
  per?: number;
  max: number;
}

export interface InfoRow {
  metric: string;
  value: string;
}

export const ratio = (row: RatioRow): number => row.engine / row.baseline;
export const passes = (row: RatioRow): boolean => ratio(row) >= row.target;
export const judged = (row: CeilingRow): number => (row.per === undefined ? row.value : row.value / row.per);
export const staysUnder = (row: CeilingRow): boolean => judged(row) <= row.max;

const pad = (s: string, width: number): string => s.padEnd(width);
const num = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
/** Counts (failures, 429s, creates) print as counts. */
const figure = (n: number): string => (Number.isInteger(n) ? n.toFixed(0) : num(n));

export function formatTable(rows: RatioRow[], info: InfoRow[], ceilings: CeilingRow[] = []): string {
  const width = Math.max(26, ...[...rows, ...ceilings, ...info].map((r) => r.metric.length + 2));
  const lines = [
    ...(rows.length > 0
      ? [
          `${pad('metric', width)}${pad('engine', 11)}${pad('baseline', 11)}${pad('ratio', 8)}target`,
          ...rows.map(
            (row) =>
              `${pad(row.metric, width)}${pad(num(row.engine), 11)}${pad(num(row.baseline), 11)}${pad(ratio(row).toFixed(2), 8)}` +
              `${pad(`≥${row.target}`, 7)}${passes(row) ? 'PASS' : 'FAIL'}`,
          ),
          '',
        ]
      : []),
    ...(ceilings.length > 0
      ? [
          `${pad('metric', width)}${pad('measured', 11)}${pad('per', 11)}${pad('ratio', 8)}target`,
          ...ceilings.map(
            (row) =>
              `${pad(row.metric, width)}${pad(figure(row.value), 11)}${pad(row.per === undefined ? '' : figure(row.per), 11)}` +
              `${pad(row.per === undefined ? '' : judged(row).toFixed(2), 8)}${pad(`≤${row.max}`, 7)}${staysUnder(row) ? 'PASS' : 'FAIL'}`,
          ),
          '',
        ]
      : []),
    ...info.map((row) => `${pad(row.metric, width)}${row.value}`),
  ];
  return lines.join('\n');
}

export const mebibytes = (bytes: number | null): string => (bytes === null ? 'n/a' : `${(bytes / 1048576).toFixed(0)} MiB`);
