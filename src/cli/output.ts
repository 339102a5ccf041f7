import { styleText } from 'node:util';
import YAML from 'yaml';

export type OutputFormat = 'table' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml'];

type Style = Parameters<typeof styleText>[0];

/** Colour only for a terminal, and never when NO_COLOR is set (to anything). */
export function colourEnabled(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && env.NO_COLOR === undefined;
}

export function paint(text: string, style: Style, stream: NodeJS.WriteStream = process.stdout): string {
  return colourEnabled(stream) ? styleText(style, text) : text;
}

const STATUS_STYLE: Record<string, Style> = {
  completed: 'green',
  running: 'cyan',
  pending: 'yellow',
  failed: 'red',
  cancelled: 'magenta',
  active: 'green',
  off: 'yellow',
  gone: 'red',
  waiting: 'gray',
  skipped: 'gray',
};

export function status(text: string, stream: NodeJS.WriteStream = process.stdout): string {
  const style = STATUS_STYLE[text];
  return style ? paint(text, style, stream) : text;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
export function visibleLength(text: string): number {
  return [...text.replace(ANSI, '')].length;
}

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
  /** Numbers and prices read better right-aligned. */
  align?: 'right';
  /** Colour the cell (after its width is measured). */
  style?: (text: string, row: T) => string;
}

function cell(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (Array.isArray(value)) return value.length ? value.map(cell).join(',') : '-';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value).replace(/\s+/g, ' ');
}

/** An aligned table: a header row, then one row per item; columns separated by two spaces. */
export function table<T>(rows: T[], columns: Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => cell(c.value(r))));
  const widths = columns.map((c, i) => Math.max(visibleLength(c.header), ...cells.map((row) => visibleLength(row[i]!))));
  const pad = (text: string, i: number) => {
    const fill = ' '.repeat(Math.max(0, widths[i]! - visibleLength(text)));
    return columns[i]!.align === 'right' ? fill + text : text + fill;
  };
  const lines = [columns.map((c, i) => pad(paint(c.header, 'bold'), i)).join('  ').trimEnd()];
  cells.forEach((row, r) => {
    lines.push(
      row
        .map((text, i) => {
          const styled = columns[i]!.style ? columns[i]!.style!(text, rows[r]!) : text;
          return pad(styled, i);
        })
        .join('  ')
        .trimEnd(),
    );
  });
  return lines.join('\n') + '\n';
}

/** `key  value` lines, keys aligned; undefined values are left out. */
export function details(pairs: Array<[string, unknown]>): string {
  const shown = pairs.filter(([, v]) => v !== undefined);
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${paint(k.padEnd(width), 'bold')}  ${typeof v === 'string' ? v : cell(v)}`).join('\n') + '\n';
}

/** JSON (the API's object verbatim, for jq) or YAML of the same object. */
export function serialize(value: unknown, format: 'json' | 'yaml'): string {
  if (format === 'json') return JSON.stringify(value, null, 2) + '\n';
  return YAML.stringify(value, { aliasDuplicateObjects: false });
}

/**
 * Writes `value` in the chosen format: JSON and YAML verbatim, a table through `render`.
 */
export function emit(format: OutputFormat, value: unknown, render: () => string): void {
  process.stdout.write(format === 'table' ? render() : serialize(value, format));
}

/** "3s ago", "5m ago" for a timestamp; '-' for none. */
export function age(iso: unknown, now = Date.now()): string {
  if (typeof iso !== 'string') return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '-';
  return `${duration(Math.max(0, now - t))} ago`;
}

/** 950ms → "0.9s", 75s → "1m15s", 2h → "2h0m". */
export function duration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60}s`;
  return `${Math.floor(m / 60)}h${m % 60}m`;
}
