// The example app on a Redis and on a PostgreSQL store whose servers this test runs, stops and
// starts itself: while the store is down, requests that need the session get 503 (never a crash,
// never a logged-in page), and the app recovers by itself once the store is back.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { freePort, outageScenario } from '../helpers/outage.js';
import { reachable } from '../helpers/service.js';

const inCi = process.env.CI === 'true';

async function waitFor(port: number, what: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (!(await reachable(`tcp://127.0.0.1:${port}`, port))) {
    if (Date.now() > until) throw new Error(`${what} did not start on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
describe('example app while its Redis store goes down and comes back', { skip: hasRedis || inCi ? false : 'redis-server is not installed' }, () => {
  it('answers 503 while Redis is down and recovers without a restart', async () => {
    assert.ok(hasRedis, 'redis-server must be installed under CI');
    const port = await freePort();
    const dir = mkdtempSync(`${tmpdir()}/nova-redis-`);
    let server: ChildProcess | undefined;
    const start = async () => {
      // Every change goes to the append-only file, so the session survives the restart.
      server = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'],
        { stdio: 'ignore' },
      );
      await waitFor(port, 'redis-server');
    };
    const stop = async () => {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server!.kill('SIGTERM');
      await exited;
    };
    await start();
    try {
      const app = await outageScenario(`redis://127.0.0.1:${port}`, stop, start);
      app.proc.kill('SIGTERM');
      await app.exited;
    } finally {
      if (server && server.exitCode === null && server.signalCode === null) await stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// A cluster of our own, made with Debian's initdb and run with pg_ctl as the postgres user (the
// server refuses to run as root, which CI is).
const pgBin = ['17', '16', '15', '14'].map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => existsSync(`${d}/pg_ctl`));
const asPostgres = (command: string) => {
  const run =
    process.getuid?.() === 0 ? spawnSync('su', ['postgres', '-c', command], { encoding: 'utf8' }) : spawnSync('sh', ['-c', command], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${command} failed: ${run.stderr}`);
};
describe('example app while its PostgreSQL store goes down and comes back', {
  skip: pgBin || inCi ? false : 'PostgreSQL server binaries are not installed',
}, () => {
  it('answers 503 while PostgreSQL is down and recovers without a restart', async () => {
    assert.ok(pgBin, 'PostgreSQL server binaries must be installed under CI');
    const port = await freePort();
    const dir = mkdtempSync(`${tmpdir()}/nova-pg-`);
    if (process.getuid?.() === 0) chownSync(dir, Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()), -1);
    asPostgres(`${pgBin}/initdb -D ${dir}/data -A trust -U postgres > /dev/null`);
    const start = async () => {
      asPostgres(`${pgBin}/pg_ctl -D ${dir}/data -o "-p ${port} -k ${dir} -c listen_addresses=127.0.0.1" -l ${dir}/log -w start > /dev/null`);
      await waitFor(port, 'PostgreSQL');
    };
    const stop = async () => asPostgres(`${pgBin}/pg_ctl -D ${dir}/data -m fast -w stop > /dev/null`);
    await start();
    try {
      const app = await outageScenario(`postgres://postgres@127.0.0.1:${port}/postgres`, stop, start);
      app.proc.kill('SIGTERM');
      await app.exited;
    } finally {
      try {
        await stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
