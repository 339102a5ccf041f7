import { spawn, type ChildProcess } from 'node:child_process';
import { redisAnswers } from '../../src/supervisor/redis-ready.js';
import { freePort } from './free-port.js';

export interface TestRedis {
  url: string;
  child: ChildProcess;
  /** The settings that point the engine at this Redis; default REDIS_URL = `url`. */
  env?: Record<string, string>;
  stop(): Promise<void>;
}

/** A throwaway redis-server on a free loopback port, without persistence. */
export async function startTestRedis(): Promise<TestRedis> {
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const url = `redis://127.0.0.1:${port}`;
    const ready = await redisAnswers(url, () => child.exitCode === null, 5000);
    if (ready) {
      return {
        url,
        child,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGKILL');
          await exited;
        },
      };
    }
    child.kill('SIGKILL');
    if (tries >= 3) throw new Error('could not start redis-server');
  }
}
