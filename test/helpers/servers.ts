// Redis and NATS servers that a test runs itself, on a free port, so it can kill and restart them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from './outage.js';
import { reachable } from './service.js';

export type Engine = 'redis' | 'nats';

export interface OwnServer {
  readonly url: string;
  /** SIGKILL, as a crash would: nothing is flushed, clients see the connection drop. */
  kill(): Promise<void>;
  /** Start again on the same port. */
  start(): Promise<void>;
}

const binary: Record<Engine, string> = { redis: 'redis-server', nats: 'nats-server' };

/** True when the engine's server binary can be run here. */
export function hasServer(engine: Engine): boolean {
  return spawnSync(binary[engine], ['--version']).status === 0;
}

/** The shared service every test may use, from REDIS_URL / NATS_URL or the loopback default. */
export function serviceUrl(engine: Engine): string {
  return engine === 'redis' ? (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') : (process.env.NATS_URL ?? 'nats://127.0.0.1:4222');
}

export async function ownServer(engine: Engine): Promise<OwnServer> {
  const port = await freePort();
  const args =
    engine === 'redis' ? ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'] : ['-a', '127.0.0.1', '-p', String(port)];
  let proc: ChildProcess | undefined;
  const server: OwnServer = {
    url: `${engine}://127.0.0.1:${port}`,
    async start() {
      proc = spawn(binary[engine], args, { stdio: 'ignore' });
      const until = Date.now() + 10_000;
      while (!(await reachable(server.url, port))) {
        if (Date.now() > until) throw new Error(`${binary[engine]} did not start on port ${port}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill() {
      if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((resolve) => proc!.once('exit', resolve));
      proc.kill('SIGKILL');
      await exited;
    },
  };
  await server.start();
  return server;
}
