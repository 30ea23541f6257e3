// Runs every compiled test file (dist/**/*.test.js) with Node's own test runner.
// Node 20's `--test` takes files, not globs, so they are collected here.
//
// A test that hangs must fail the run, never stall it: each test has a time limit, the runner
// exits when the tests are done even if a test left a handle open (a server, a child process),
// and a watchdog ends the whole run, with every process it started, past TEST_RUN_LIMIT_S.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

function collect(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

/** A test file, and each test in it, may take this long; the slowest file takes about a minute. */
const TEST_TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS ?? 600_000);
/** The whole run: the suite takes about 8 minutes on two cores. */
const RUN_LIMIT_S = Number(process.env.TEST_RUN_LIMIT_S ?? 2400);

const filter = process.argv.slice(2);
const files = collect('dist')
  .filter((f) => filter.length === 0 || filter.some((part) => f.includes(part)))
  .sort();
if (files.length === 0) {
  console.error('no test files found under dist/ (did the build run?)');
  process.exit(1);
}
// Its own process group, so the watchdog can end the test processes and whatever they spawned.
const child = spawn(process.execPath, ['--test', '--test-reporter=spec', '--test-force-exit', `--test-timeout=${TEST_TIMEOUT_MS}`, ...files], {
  stdio: 'inherit',
  detached: true,
});
const killGroup = (signal) => {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
};
const watchdog = setTimeout(() => {
  console.error(`\nrun-tests: the tests ran past ${RUN_LIMIT_S} s (TEST_RUN_LIMIT_S); ending them and every process they started`);
  killGroup('SIGTERM');
  setTimeout(() => killGroup('SIGKILL'), 5000).unref();
}, RUN_LIMIT_S * 1000);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => killGroup(signal));
child.on('exit', (code, signal) => {
  clearTimeout(watchdog);
  // Servers a test started and failed to stop (redis-server, nats-server, haproxy, app nodes)
  // would outlive the run and hold their ports.
  killGroup('SIGKILL');
  process.exit(code ?? (signal !== null ? 1 : 1));
});
