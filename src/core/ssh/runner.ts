import type { ClientChannel } from 'ssh2';
import { AbortedError } from '../../common/errors.js';
import { connect, type ConnectSettings, type SshTarget } from './connect.js';
import { LineSplitter } from './line-splitter.js';
import { remoteCommand } from './shell-quote.js';

export type { SshTarget } from './connect.js';

export interface RunOptions {
  /** Aborting closes the channel, which stops the remote script (see remoteCommand), and the connection. */
  signal?: AbortSignal;
  /** Each line of output as it arrives. */
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
}

export interface RunResult {
  /** null when the remote process ended by a signal instead. */
  exitCode: number | null;
  exitSignal: string | null;
  /** The last lines printed (both streams), for error messages. */
  tail: string[];
}

const TAIL_LINES = 20;

/**
 * Runs scripts on servers over SSH (the `ssh2` client), with the engine's key, streaming
 * their output line by line. One connection per run: scripts are long and few, and a fresh
 * connection never inherits state from an earlier one.
 */
export class SshRunner {
  constructor(private readonly settings: ConnectSettings) {}

  /** Connects and authenticates, then hangs up: tells whether a script could be run. */
  async probe(target: SshTarget, signal?: AbortSignal): Promise<void> {
    const client = await connect(target, this.settings, signal);
    client.end();
  }

  async run(target: SshTarget, script: string, opts: RunOptions = {}): Promise<RunResult> {
    const client = await connect(target, this.settings, opts.signal);
    try {
      return await this.exec(client, remoteCommand(script, this.settings.user), opts);
    } finally {
      client.end();
    }
  }

  private exec(client: Awaited<ReturnType<typeof connect>>, command: string, opts: RunOptions): Promise<RunResult> {
    const { signal, onLine } = opts;
    return new Promise<RunResult>((resolve, reject) => {
      if (signal?.aborted) return reject(new AbortedError(signal.reason));
      const tail: string[] = [];
      const line = (stream: 'stdout' | 'stderr') => (text: string) => {
        tail.push(text);
        if (tail.length > TAIL_LINES) tail.shift();
        onLine?.(stream, text);
      };
      const stdout = new LineSplitter(line('stdout'));
      const stderr = new LineSplitter(line('stderr'));
      let channel: ClientChannel | null = null;
      let exitCode: number | null = null;
      let exitSignal: string | null = null;
      let settled = false;

      const onAbort = () => {
        if (settled) return;
        settled = true;
        // Not a signal request: OpenSSH often refuses them. The watcher in remoteCommand sees
        // the channel close and stops the script's whole process group.
        channel?.close();
        client.end();
        reject(new AbortedError(signal!.reason));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (err: Error | null) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (err) return reject(err);
        stdout.flush();
        stderr.flush();
        resolve({ exitCode, exitSignal, tail });
      };

      client.once('error', (err: Error) => done(err));
      client.exec(command, (err, ch) => {
        if (err) return done(err);
        channel = ch;
        if (settled) return void ch.close();
        ch.on('data', (chunk: Buffer) => stdout.push(chunk));
        ch.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        ch.on('exit', (code: number | null, sig?: string) => {
          exitCode = typeof code === 'number' ? code : null;
          exitSignal = sig ?? null;
        });
        ch.on('close', () => done(null));
      });
    });
  }
}
