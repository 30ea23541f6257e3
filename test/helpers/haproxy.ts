// HAProxy (Debian's package) in front of example nodes, as a user would put a load balancer there:
// round-robin, no stickiness, HTTP mode. `.ci/run` installs it when missing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './outage.js';
import { reachable } from './service.js';

export interface Haproxy {
  /** `http://127.0.0.1:port`, the balanced front end. */
  readonly url: string;
  /** Everything HAProxy printed (start-up warnings, health-check changes). */
  output(): string;
  stop(): Promise<void>;
}

export interface HaproxyOptions {
  /**
   * Health-check each node with `GET <path>` (e.g. `/ready`) every `checkIntervalMs`: a node that
   * fails two checks in a row gets no traffic until it passes two. Default: no health check.
   */
  readonly checkPath?: string;
  readonly checkIntervalMs?: number;
}

/** The HAProxy binary: on PATH, or where Debian puts it (`/usr/sbin` is not on every user's PATH). */
export function haproxyBinary(): string | undefined {
  for (const candidate of ['haproxy', '/usr/sbin/haproxy']) {
    if (spawnSync(candidate, ['-v']).status === 0) return candidate;
  }
  return undefined;
}

/**
 * Start HAProxy balancing round-robin over `ports` on 127.0.0.1. Every answer carries
 * `x-served-by: n<index>`, the node that answered (index into `ports`), so a test can tell which
 * node served which request.
 *
 * @example
 * ```ts
 * const lb = await startHaproxy([nodeA.port, nodeB.port], { checkPath: '/ready' });
 * await fetch(`${lb.url}/profile`, { headers: { cookie } });
 * await lb.stop();
 * ```
 */
export async function startHaproxy(ports: readonly number[], options: HaproxyOptions = {}): Promise<Haproxy> {
  const binary = haproxyBinary();
  if (binary === undefined) throw new Error('haproxy is not installed (Debian: apt-get install haproxy)');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nova-haproxy-'));
  const config = join(dir, 'haproxy.cfg');
  const inter = options.checkIntervalMs ?? 300;
  const check = options.checkPath === undefined ? '' : ` check inter ${inter} fall 2 rise 2`;
  writeFileSync(
    config,
    [
      'global',
      '  maxconn 4096',
      'defaults',
      '  mode http',
      // Short timeouts: a node that is stopped must show up as slow answers, not as a hung test.
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      '  timeout http-request 10s',
      // A balanced request that reached a node that then failed is not sent to another: the test
      // must see what the node said.
      '  retries 0',
      'frontend web',
      `  bind 127.0.0.1:${port}`,
      '  default_backend nodes',
      'backend nodes',
      '  balance roundrobin',
      ...(options.checkPath === undefined ? [] : ['  option httpchk', `  http-check send meth GET uri ${options.checkPath}`, '  http-check expect status 200']),
      '  http-response set-header x-served-by %s',
      ...ports.map((p, i) => `  server n${i} 127.0.0.1:${p}${check}`),
      '',
    ].join('\n'),
  );
  // -db: stay in the foreground, so the test owns the process; -W is not needed for one process.
  const proc: ChildProcess = spawn(binary, ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 10_000;
  while (!(await reachable(url, port))) {
    if (proc.exitCode !== null || Date.now() > until) {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`haproxy did not start on port ${port}:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = once(proc, 'exit');
        proc.kill('SIGKILL');
        await exited;
      }
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
