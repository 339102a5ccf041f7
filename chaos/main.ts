/**
 * `npm run chaos`: the chaos run against real processes (see README, "Chaos run").
 *
 *   npm run chaos               compact: a few hundred operations, about two minutes
 *   npm run chaos -- --long     thousands of operations
 *
 * Prints details of anything wrong, then one summary line; exits 1 when any count is not zero.
 */
import { abandonRuns, runChaos } from './run.js';
import { chaosSettings } from './settings.js';

let settings;
try {
  settings = chaosSettings(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`chaos: ${(err as Error).message}\n`);
  process.exit(2);
}

const progress = (line: string) => process.stderr.write(`[chaos] ${line}\n`);
// Interrupted: the run's directory goes now, its processes with us (the watchdog kills them).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    progress(`${signal}: stopping`);
    abandonRuns();
    process.exit(130);
  });
}

try {
  const outcome = await runChaos(settings, progress);
  for (const line of outcome.details) process.stdout.write(`${line}\n`);
  process.stdout.write(`${outcome.summary}\n`);
  process.exitCode = outcome.failed ? 1 : 0;
} catch (err) {
  process.stderr.write(`chaos: the run could not be completed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
}
