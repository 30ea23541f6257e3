// Issue 12, "memory bounded in bytes", tried as an attacker would: thousands of logins with 60 KB
// usernames, and thousands of 60 KB sessions each tied to a user, against a process with a small
// heap (`--max-old-space-size=192`), on the defaults. Before the byte budget both kinds of process
// died of FatalProcessOutOfMemory within ~1,500 requests.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startChild, type Child } from '../helpers/child.js';
import { freePort } from '../helpers/outage.js';

const example = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));
const hoarding = fileURLToPath(new URL('../helpers/hoarding-app.js', import.meta.url));
const SECRET = 'memory-budget-test-secret-0123456789-abcdef';
const SMALL_HEAP = { NODE_OPTIONS: '--max-old-space-size=192', SESSION_SECRET: SECRET, LOGIN_RATE_LIMIT: '0' };
const BIG = 'x'.repeat(60 * 1024);

interface Answer {
  status: number;
  cookie: string | undefined;
  body: string;
}

/** One request over node:http (no `Origin`/`Sec-Fetch-*` headers: what curl or a script sends). */
function send(port: number, method: string, path: string, options: { body?: string; cookie?: string; agent?: Agent } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    if (options.cookie !== undefined) headers.cookie = options.cookie;
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: options.agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cookie: res.headers['set-cookie']?.[0]?.split(';')[0], body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** `count` POSTs of `body(i)` to `path`, 8 at a time over keep-alive connections; the statuses seen, counted. */
async function flood(port: number, path: string, count: number, body: (i: number) => string): Promise<Map<number | string, number>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const seen = new Map<number | string, number>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const answer = await send(port, 'POST', path, { body: body(i), agent }).then(
        (a) => a.status,
        (err: NodeJS.ErrnoException) => err.code ?? err.message,
      );
      seen.set(answer, (seen.get(answer) ?? 0) + 1);
    }
  };
  try {
    await Promise.all(Array.from({ length: 8 }, worker));
  } finally {
    agent.destroy();
  }
  return seen;
}

/** Lines that are part of a stack trace. */
const stackLines = (output: string) => output.split('\n').filter((l) => /^\s+at /.test(l));

/** Stop the child as an operator would (SIGTERM: the apps flush their storm summaries), and return what it printed. */
async function stop(child: Child): Promise<string> {
  if (child.proc.exitCode === null && child.proc.signalCode === null) {
    child.proc.kill('SIGTERM');
    const timer = setTimeout(() => child.proc.kill('SIGKILL'), 5000);
    await child.exited;
    clearTimeout(timer);
  }
  return child.output();
}

function assertQuiet(output: string): void {
  assert.doesNotMatch(output, /FatalProcessOutOfMemory|heap out of memory/);
  assert.deepEqual(stackLines(output), [], `no stack traces; the child printed:\n${output.slice(0, 3000)}`);
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  assert.ok(lines.length <= 6, `a few lines at most, not one per request; the child printed ${lines.length}:\n${output.slice(0, 3000)}`);
}

describe('memory bounded in bytes, under --max-old-space-size=192', () => {
  it('the example app, on its defaults, survives 3,000 logins with 60 KB usernames', async () => {
    const port = await freePort();
    let output = '';
    const child = await startChild(example, { ...SMALL_HEAP, PORT: String(port) }, /listening on/, 20_000);
    try {
      const login = await send(port, 'POST', '/login', { body: 'username=ada&password=password' });
      assert.equal(login.status, 302);
      const ada = login.cookie!;
      const seen = await flood(port, '/login', 3000, (i) => `username=${BIG}${i}&password=password`);
      // The example refuses usernames over 256 characters up front (auth.ts); a budget refusal would be 503.
      for (const status of seen.keys()) assert.ok(status === 401 || status === 503, `status ${String(status)} seen ${seen.get(status)} times`);
      assert.equal(child.proc.exitCode, null, 'still running');
      assert.equal((await send(port, 'GET', '/heartbeat')).status, 200);
      const profile = await send(port, 'GET', '/profile', { cookie: ada });
      assert.equal(profile.status, 200);
      assert.deepEqual(JSON.parse(profile.body), { username: 'ada' });
    } finally {
      output = await stop(child);
    }
    assertQuiet(output);
  });

  it('an app storing 60 KB in a new logged-in session per request survives 3,000 of them, refusing the excess with 503', async () => {
    const port = await freePort();
    let output = '';
    const child = await startChild(hoarding, { ...SMALL_HEAP, PORT: String(port) }, /listening on/, 20_000);
    try {
      const first = await send(port, 'POST', '/hoard', { body: `user=ada&value=${'a'.repeat(1000)}` });
      assert.equal(first.status, 201);
      const ada = first.cookie!;
      const seen = await flood(port, '/hoard', 3000, (i) => `user=${'u'.repeat(250)}${i}&value=${BIG}`);
      assert.ok((seen.get(503) ?? 0) > 0, `the store refused the excess: ${JSON.stringify([...seen])}`);
      for (const status of seen.keys()) assert.ok(status === 201 || status === 503, `status ${String(status)} seen ${seen.get(status)} times`);
      assert.equal(child.proc.exitCode, null, 'still running');
      assert.equal((await send(port, 'GET', '/heartbeat')).status, 200);
      const mine = await send(port, 'GET', '/mine', { cookie: ada });
      assert.equal(mine.status, 200);
      assert.deepEqual(JSON.parse(mine.body), { value: 1000 }, 'the session logged in before the flood still reads');
    } finally {
      output = await stop(child);
    }
    assertQuiet(output);
    assert.match(output, /session write\(s\) refused: the store is full/, 'the refusals are summarised');
  });
});

describe("the example's login flow against a full store", () => {
  it('answers 503 to a flood of logins, with one summary line rather than a stack trace each, and keeps the users already in', async () => {
    const port = await freePort();
    const env = { PORT: String(port), SESSION_SECRET: SECRET, LOGIN_RATE_LIMIT: '0', SESSION_MAX_STORE_BYTES: '300000' };
    let output = '';
    const child = await startChild(example, env, /listening on/, 20_000);
    try {
      const ada = (await send(port, 'POST', '/login', { body: 'username=ada&password=password' })).cookie!;
      const seen = await flood(port, '/login', 3000, (i) => `username=${'n'.repeat(250)}${i}&password=password`);
      assert.ok((seen.get(503) ?? 0) > 2000, `most logins refused once full: ${JSON.stringify([...seen])}`);
      for (const status of seen.keys()) assert.ok(status === 302 || status === 503, `status ${String(status)} seen ${seen.get(status)} times`);
      assert.deepEqual(JSON.parse((await send(port, 'GET', '/profile', { cookie: ada })).body), { username: 'ada' });
    } finally {
      output = await stop(child);
    }
    assertQuiet(output);
    assert.match(output, /session write\(s\) refused: the store is full/, 'the refusals are summarised');
  });
});
