import ssh2 from 'ssh2';
import type { Client as SshClient } from 'ssh2';
import { AbortedError, EngineError, ErrorCodes, type ErrorCode } from '../../common/errors.js';
import { fingerprintOf, type HostKeyPolicy } from './host-key-pins.js';

const { Client } = ssh2;

/** A server to run something on. */
export interface SshTarget {
  /** What messages call it: the server's hostname. */
  label: string;
  /** Its address as the provider reported it. */
  address: string;
  /** Default 22. */
  port?: number;
  /** Whose host key pin this connection checks (the engine server id). */
  pinKey: string;
}

export interface ConnectSettings {
  privateKey: string;
  user: string;
  /** When set, every connection goes here and the target's address rides in the user name. */
  endpointOverride: { host: string; port: number } | null;
  /** Normally HostKeyPins: accept a server's key on first use, then insist on it. */
  pins: HostKeyPolicy;
  connectTimeoutMs: number;
  connectAttempts: number;
  /** First pause between attempts; doubles each time up to 10 s. Default 1000. */
  retryDelayMs?: number;
}

/** Where a connection for `target` goes and with which user name. */
function connectionFor(target: SshTarget, settings: Pick<ConnectSettings, 'user' | 'endpointOverride'>) {
  const override = settings.endpointOverride;
  return override
    ? { host: override.host, port: override.port, username: `${settings.user}+${target.address}` }
    : { host: target.address, port: target.port ?? 22, username: settings.user };
}

function describeTarget(target: SshTarget, settings: ConnectSettings): string {
  return `${target.label} (${settings.user}@${target.address})`;
}

/** A connection that failed; `retryable` when another attempt could reach the server. */
export class SshConnectError extends EngineError {
  constructor(code: ErrorCode, message: string, server: string, readonly retryable: boolean) {
    super(code, message, { server });
  }
}

function classify(err: Error & { level?: string }, target: SshTarget, settings: ConnectSettings, mismatch: { fingerprint: string; pinned: string } | null): SshConnectError {
  const who = describeTarget(target, settings);
  if (mismatch) {
    const message = `${who}: host key ${mismatch.fingerprint} does not match the pinned ${mismatch.pinned}; refusing to connect (if the server was rebuilt, remove its pin)`;
    return new SshConnectError(ErrorCodes.SSH_HOST_KEY_MISMATCH, message, target.label, false);
  }
  if (err.level === 'client-authentication') {
    return new SshConnectError(ErrorCodes.SSH_AUTH_FAILED, `${who}: the server did not accept the engine's SSH key`, target.label, false);
  }
  return new SshConnectError(ErrorCodes.SSH_UNREACHABLE, `${who}: cannot connect over SSH: ${err.message}`, target.label, true);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError(signal.reason));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError(signal!.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function attempt(target: SshTarget, settings: ConnectSettings, signal?: AbortSignal): Promise<SshClient> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError(signal.reason));
    const client = new Client();
    let mismatch: { fingerprint: string; pinned: string } | null = null;
    let settled = false;
    const onAbort = () => finish(new AbortedError(signal!.reason));
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        client.end();
        reject(err);
      } else resolve(client);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    client.once('ready', () => finish(null));
    client.on('error', (err: Error & { level?: string }) => finish(err instanceof AbortedError ? err : classify(err, target, settings, mismatch)));
    client.once('close', () => finish(classify(new Error('connection closed during the handshake'), target, settings, mismatch)));
    client.connect({
      ...connectionFor(target, settings),
      privateKey: settings.privateKey,
      readyTimeout: settings.connectTimeoutMs,
      keepaliveInterval: 15000,
      hostVerifier: (hostKey: Buffer, verify: (valid: boolean) => void) => {
        settings.pins.check(target.pinKey, fingerprintOf(hostKey)).then(
          (pin) => {
            if (!pin.ok) mismatch = { fingerprint: pin.fingerprint, pinned: pin.pinned };
            verify(pin.ok);
          },
          () => verify(false),
        );
      },
    });
  });
}

/**
 * An authenticated connection to `target`. Attempts that fail to reach the server (refused,
 * timed out: a server that just booted may not run sshd yet) are repeated with a growing
 * pause; a refused key or a changed host key fails at once.
 */
export async function connect(target: SshTarget, settings: ConnectSettings, signal?: AbortSignal): Promise<SshClient> {
  let delay = settings.retryDelayMs ?? 1000;
  for (let i = 1; ; i++) {
    try {
      return await attempt(target, settings, signal);
    } catch (err) {
      if (!(err instanceof SshConnectError && err.retryable) || i >= settings.connectAttempts) throw err;
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 10000);
    }
  }
}
