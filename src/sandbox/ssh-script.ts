/**
 * How the sandbox's simulated servers answer a command: as a host where every command
 * succeeds. Top-level `echo` lines print what a shell would print, `sleep N` takes N seconds
 * (cut short when the client hangs up), `exit N` ends with N, and everything else succeeds
 * silently. Lines inside if/for/while/case blocks, functions or `{ …; }` groups are treated
 * as branches not taken.
 *
 * A script containing FAIL_MARKER fails at that line with exit code 1, so tests (and anyone
 * trying things out) can make a server fail on purpose.
 */
export const FAIL_MARKER = 'SANDBOX_FAIL';

export interface ScriptIo {
  stdout(line: string): void;
  stderr(line: string): void;
  /** Fires when the client closes the channel or the connection. */
  signal: AbortSignal;
}

/**
 * What a command runs: for `[sudo -n] bash -c <command string> [<name> <argument>]` (the
 * engine's form: a small wrapper that runs its argument), the argument when there is one,
 * else the command string; any other command is taken as a one-line script.
 */
export function scriptOf(command: string): string {
  const w = words(command);
  if (w[0] === 'sudo' && w[1] === '-n') w.splice(0, 2);
  if (w[0] !== 'bash' || w[1] !== '-c' || w[2] === undefined) return command;
  return w[4] ?? w[2];
}

/** Shell words without expansion: quotes and backslashes removed, adjacent pieces joined. */
function words(text: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|((?:\\.|[^\s'"\\])+)/g;
  let current: string | null = null;
  let lastEnd = -1;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const piece = m[1] ?? (m[2] ?? m[3]!).replace(/\\(.)/g, '$1');
    if (current !== null && m.index === lastEnd) current += piece;
    else {
      if (current !== null) out.push(current);
      current = piece;
    }
    lastEnd = re.lastIndex;
  }
  if (current !== null) out.push(current);
  return out;
}

const OPENERS = new Set(['if', 'for', 'while', 'until', 'case', '{']);
const CLOSERS = new Set(['fi', 'done', 'esac', '}']);

/** How much a line opens or closes blocks, ignoring quoted text. */
function depthChange(line: string): number {
  const bare = line.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, "''").replace(/#.*$/, '');
  let change = 0;
  for (const token of bare.split(/[\s;&|()]+/)) {
    if (OPENERS.has(token)) change++;
    else if (CLOSERS.has(token)) change--;
  }
  return change;
}

function pause(seconds: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, seconds * 1000);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `script` as described above; resolves with its exit code, or null when cut short. */
export async function simulateScript(script: string, io: ScriptIo): Promise<number | null> {
  let depth = 0;
  for (const raw of script.split('\n')) {
    const line = raw.trim();
    const atTop = depth === 0;
    depth = Math.max(0, depth + depthChange(line));
    if (io.signal.aborted) return null;
    if (line.includes(FAIL_MARKER)) {
      io.stderr(`sandbox: simulated failure (the script contains ${FAIL_MARKER})`);
      return 1;
    }
    if (!atTop || line === '' || line.startsWith('#')) continue;
    const [command, ...args] = words(line);
    if (command === 'echo') {
      const toStderr = args.at(-1) === '>&2';
      // Written to a file, not to the terminal.
      if (!toStderr && args.some((a) => a === '>' || a === '>>')) continue;
      const text = (toStderr ? args.slice(0, -1) : args).join(' ');
      if (toStderr) io.stderr(text);
      else io.stdout(text);
    } else if (command === 'sleep' && /^\d+(\.\d+)?$/.test(args[0] ?? '')) {
      if (!(await pause(Number(args[0]), io.signal))) return null;
    } else if (command === 'exit') {
      return Number(args[0] ?? 0) || 0;
    }
  }
  return 0;
}
