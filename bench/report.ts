/** The table the benchmark prints. */

export interface RatioRow {
  metric: string;
  engine: number;
  baseline: number;
  /** Minimum engine ÷ baseline. */
  target: number;
}

export interface InfoRow {
  metric: string;
  value: string;
}

export const ratio = (row: RatioRow): number => row.engine / row.baseline;
export const passes = (row: RatioRow): boolean => ratio(row) >= row.target;

const pad = (s: string, width: number): string => s.padEnd(width);
const num = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

export function formatTable(rows: RatioRow[], info: InfoRow[]): string {
  const lines = [
    `${pad('metric', 26)}${pad('engine', 11)}${pad('baseline', 11)}${pad('ratio', 8)}target`,
    ...rows.map(
      (row) =>
        `${pad(row.metric, 26)}${pad(num(row.engine), 11)}${pad(num(row.baseline), 11)}${pad(ratio(row).toFixed(2), 8)}` +
        `${pad(`≥${row.target}`, 7)}${passes(row) ? 'PASS' : 'FAIL'}`,
    ),
    '',
    ...info.map((row) => `${pad(row.metric, 26)}${row.value}`),
  ];
  return lines.join('\n');
}

export const mebibytes = (bytes: number | null): string => (bytes === null ? 'n/a' : `${(bytes / 1048576).toFixed(0)} MiB`);
