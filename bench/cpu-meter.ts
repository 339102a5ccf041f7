/**
 * CPU seconds each process spent during a measured run. On two shared cores, throughput
 * alone cannot tell "slow code" from "starved of CPU"; this shows which process used it.
 */
import type { BenchChild } from './children.js';

export type CpuUse = Array<{ name: string; seconds: number }>;

/** Starts counting; the returned function gives the CPU used since, per process. */
export function startCpuMeter(children: BenchChild[]): () => CpuUse {
  const own = process.cpuUsage();
  const before = children.map((c) => c.cpuSeconds() ?? 0);
  return () => {
    const used = process.cpuUsage(own);
    return [
      { name: 'bench', seconds: (used.user + used.system) / 1e6 },
      ...children.map((c, i) => ({ name: c.name, seconds: (c.cpuSeconds() ?? before[i]!) - before[i]! })),
    ];
  };
}

/** Adds up several meterings of the same processes. */
export function sumCpuUse(uses: CpuUse[]): CpuUse {
  const totals = new Map<string, number>();
  for (const use of uses) for (const u of use) totals.set(u.name, (totals.get(u.name) ?? 0) + u.seconds);
  return [...totals].map(([name, seconds]) => ({ name, seconds }));
}

export function formatCpuUse(use: CpuUse): string {
  return use.map((u) => `${u.name} ${u.seconds.toFixed(1)}`).join(', ') + ' (CPU s)';
}
