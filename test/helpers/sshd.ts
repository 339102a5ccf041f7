import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEd25519Key } from '../../src/core/ssh/ed25519-key.js';
import { freePort } from './free-port.js';

const SSHD = '/usr/sbin/sshd';

/**
 * Installs openssh-server from Debian's packages when sshd is missing (tests run as root on
 * Debian; scripts/ensure-deps.sh does the same). A policy-rc.d that refuses keeps the package
 * from starting a system-wide sshd: only the binary is wanted.
 */
export function ensureSshd(): void {
  if (existsSync(SSHD)) return;
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', 'openssh-server']]) {
      const res = spawnSync('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: ['ignore', 'ignore', 'pipe'] });
      if (res.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed: ${res.stderr?.toString()}`);
    }
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
}

/** Without PAM, OpenSSH refuses a locked account (password field `!…`) even for keys; PAM does not. */
function rootIsLocked(): boolean {
  const entry = readFileSync('/etc/shadow', 'utf8').split('\n').find((l) => l.startsWith('root:'));
  return entry?.split(':')[1]?.startsWith('!') ?? false;
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

export interface RunningSshd {
  host: string;
  port: number;
  /** Everything sshd logged (it runs with -e). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * A real sshd on a free loopback port, run as root in the foreground with its own config,
 * a fresh host key and `authorizedKey` as the only key it accepts (for root too).
 */
export async function startSshd(authorizedKey: string): Promise<RunningSshd> {
  ensureSshd();
  const dir = mkdtempSync(join(tmpdir(), 'pe-sshd-'));
  const port = await freePort();
  writeFileSync(join(dir, 'host_key'), generateEd25519Key('pe-test-sshd').privateKey, { mode: 0o600 });
  writeFileSync(join(dir, 'authorized_keys'), `${authorizedKey}\n`, { mode: 0o600 });
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'StrictModes no',
    `UsePAM ${rootIsLocked() ? 'yes' : 'no'}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'LogLevel VERBOSE',
  ];
  writeFileSync(join(dir, 'sshd_config'), config.join('\n') + '\n');
  // sshd's privilege separation directory; created at boot by the system's own service otherwise.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 10000;
  while (!(await accepting(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: '127.0.0.1',
    port,
    log: () => log,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
