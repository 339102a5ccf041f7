/**
 * The outcome of a run: a few lines of detail for whatever went wrong, then exactly one
 * summary line, `chaos: N accepted, 0 lost, … ; quiescent in S s`.
 */
import type { Findings } from './checks.js';

/** Detail lines shown per kind of finding; the rest are counted. */
const DETAILS_PER_KIND = 8;

export const SUMMARY_PATTERN =
  /^chaos: (\d+) accepted, (\d+) lost, (\d+) duplicate servers, (\d+) repeated actions, (\d+) duplicate operations, (\d+) inventory mismatches, (\d+) stuck; quiescent in (\d+) s$/m;

export function failures(f: Findings): number {
  return f.lost.count + f.duplicateServers.count + f.repeatedActions.count + f.duplicateOperations.count + f.inventoryMismatches.count + f.stuck.count;
}

export function summaryLine(f: Findings, quiescentSeconds: number): string {
  return (
    `chaos: ${f.accepted} accepted, ${f.lost.count} lost, ${f.duplicateServers.count} duplicate servers, ` +
    `${f.repeatedActions.count} repeated actions, ${f.duplicateOperations.count} duplicate operations, ` +
    `${f.inventoryMismatches.count} inventory mismatches, ${f.stuck.count} stuck; quiescent in ${quiescentSeconds} s`
  );
}

export function detailLines(f: Findings): string[] {
  const lines: string[] = [];
  for (const finding of [f.lost, f.duplicateServers, f.repeatedActions, f.duplicateOperations, f.inventoryMismatches, f.stuck]) {
    lines.push(...finding.details.slice(0, DETAILS_PER_KIND).map((d) => `  ${d}`));
    if (finding.details.length > DETAILS_PER_KIND) lines.push(`  … and ${finding.details.length - DETAILS_PER_KIND} more like these`);
  }
  return lines;
}
