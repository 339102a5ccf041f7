/**
 * The SSH side of the sandbox's servers: one `ssh2` server on loopback standing in for every
 * simulated server. A client names the server it means in the user name, `<login>+<address>`
 * (`root+198.18.0.2`), which is what the engine sends when SSH_ENDPOINT_OVERRIDE points it
 * here. Public-key authentication only, with the keys the servers were created with (see
 * ssh-state.ts). Every command is recorded with the server it was for and answered
 * as ssh-script.ts describes.
 */
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import type { Connection, ServerChannel } from 'ssh2';
import type { SshHostState } from './ssh-state.js';
import { scriptOf, simulateScript } from './ssh-script.js';

const { Server } = ssh2;

export interface SshCommandRecord {
  at: string;
  /** The address the client asked for. */
  server: string;
  user: string;
  command: string;
  /** The script the command runs (the command itself unless it is `bash -c '…'`). */
  script: string;
  /** null while running, or when the client hung up first. */
  exit_code: number | null;
  finished: boolean;
  stdout: string[];
  stderr: string[];
}

export interface SandboxSshHost {
  host: string;
  port: number;
  /** Every command run so far, oldest first. */
  commands(): SshCommandRecord[];
  clear(): void;
  close(): Promise<void>;
}

export interface SshHostOptions {
  host: string;
  /** 0: an ephemeral port. */
  port: number;
  /** The host key and the keys let in. */
  state: SshHostState;
}

const MAX_RECORDS = 1000;

export async function startSshHost(opts: SshHostOptions): Promise<SandboxSshHost> {
  const records: SshCommandRecord[] = [];
  const clients = new Set<Connection>();

  const run = (channel: ServerChannel, record: SshCommandRecord, hangUp: AbortSignal) => {
    const write = (stream: 'stdout' | 'stderr') => (line: string) => {
      record[stream].push(line);
      (stream === 'stdout' ? channel : channel.stderr).write(`${line}\n`);
    };
    simulateScript(record.script, { stdout: write('stdout'), stderr: write('stderr'), signal: hangUp }).then((code) => {
      record.finished = true;
      record.exit_code = code;
      // Stopped by a signal request: end the way a killed process does, by that signal.
      const stoppedBy = hangUp.reason;
      if (code !== null) channel.exit(code);
      else if (typeof stoppedBy === 'string') channel.exit(stoppedBy, false, '');
      else return;
      channel.end();
    });
  };

  const server = new Server({ hostKeys: [opts.state.hostKey] }, (client) => {
    clients.add(client);
    const gone = new AbortController();
    let user = '';
    let address = '';
    client.on('authentication', (ctx) => {
      const name = /^([^+]+)\+(.+)$/.exec(ctx.username);
      if (ctx.method !== 'publickey' || !name) return ctx.reject(['publickey']);
      const key = opts.state.find(ctx.key.data);
      if (!key || (ctx.signature && !key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo))) return ctx.reject(['publickey']);
      user = name[1]!;
      address = name[2]!;
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        // One command per session, as OpenSSH clients send them; a signal request stops it.
        const hangUp = new AbortController();
        session.on('signal', (accept, _reject, info) => {
          accept?.();
          hangUp.abort(info.name);
        });
        session.on('exec', (accept, _reject, info) => {
          const channel = accept();
          channel.on('close', () => hangUp.abort());
          gone.signal.addEventListener('abort', () => hangUp.abort(), { once: true });
          const record: SshCommandRecord = {
            at: new Date().toISOString(), server: address, user, command: info.command, script: scriptOf(info.command),
            exit_code: null, finished: false, stdout: [], stderr: [],
          };
          records.push(record);
          if (records.length > MAX_RECORDS) records.shift();
          run(channel, record, hangUp.signal);
        });
      });
    });
    // A client that goes away mid-command is normal here; nothing to report.
    client.on('error', () => undefined);
    client.on('close', () => {
      clients.delete(client);
      gone.abort();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    host: opts.host,
    port,
    commands: () => records.map((r) => ({ ...r, stdout: [...r.stdout], stderr: [...r.stderr] })),
    clear: () => void (records.length = 0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.end();
        server.close(() => resolve());
      }),
  };
}
