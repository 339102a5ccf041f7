import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

interface ParsedFamily {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: Array<{ labels?: Record<string, string>; value?: string }>;
}

// The parser ships as CommonJS without type declarations.
const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => ParsedFamily[];

/**
 * A scrape parsed by `parse-prometheus-text-format`, which throws on a malformed line. Its
 * histogram reading keeps only unlabelled histograms (it folds every label set into one), so
 * the samples are read from a second parse in which every family is untyped: each
 * `_bucket`, `_sum` and `_count` line then keeps its labels.
 */
export class Scrape {
  private readonly types = new Map<string, ParsedFamily['type']>();
  private readonly samples = new Map<string, Array<{ labels: Record<string, string>; value: number }>>();

  constructor(text: string) {
    for (const kind of ['HELP', 'TYPE']) {
      const names = text.split('\n').filter((l) => l.startsWith(`# ${kind} `)).map((l) => l.split(' ')[2]!);
      assert.equal(new Set(names).size, names.length, `one ${kind} line per family: ${names.filter((n, i) => names.indexOf(n) !== i).join(', ')}`);
    }
    for (const family of parse(text)) {
      assert.ok(!this.types.has(family.name), `family ${family.name} appears once`);
      this.types.set(family.name, family.type);
    }
    for (const family of parse(text.replace(/^# TYPE (\S+) \S+$/gm, '# TYPE $1 untyped'))) {
      const list = this.samples.get(family.name) ?? [];
      for (const m of family.metrics) list.push({ labels: m.labels ?? {}, value: Number(m.value) });
      this.samples.set(family.name, list);
    }
  }

  /** `COUNTER`, `GAUGE`, `HISTOGRAM`, … or undefined when the family is absent. */
  type(name: string): string | undefined {
    return this.types.get(name);
  }

  /** The sum of the samples named `name` whose labels include `want` (0 when there are none). */
  sum(name: string, want: Record<string, string> = {}): number {
    return (this.samples.get(name) ?? []).filter((s) => Object.entries(want).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
  }

  /** A histogram's observations over the label sets that include `want`. */
  histogramCount(name: string, want: Record<string, string> = {}): number {
    assert.equal(this.type(name), 'HISTOGRAM', `${name} is a histogram`);
    return this.sum(`${name}_count`, want);
  }

  /** The `le` bounds of a histogram's buckets. */
  buckets(name: string): Set<string> {
    return new Set((this.samples.get(`${name}_bucket`) ?? []).map((s) => s.labels.le!));
  }
}
