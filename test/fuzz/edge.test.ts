// Property-based fuzzing of the running example app and of a framework fixture app (bodies, CORS,
// CSRF, session writes): random and hostile cookies, headers, paths, query strings and bodies,
// sent as raw bytes. Properties: never a 5xx, never a crash, never a session adopted, and
// Object.prototype untouched in the server processes. A fixed seed and a bounded number of runs
// keep it deterministic; on a failure fast-check prints the seed, the path and the shrunk input.
// FUZZ_SEED and FUZZ_RUNS override them for a longer hunt.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startChild, type Child } from '../helpers/child.js';
import { cookiePair } from '../helpers/cookies.js';
import { freePort } from '../helpers/outage.js';
import { cookieHeader, forgedSessionValue, hostileRequest, protoForm, protoJson, requestBytes, type HostileRequest } from './hostile.js';
import { headerValues, rawRequest, type RawAnswer } from './raw-http.js';

const SEED = Number(process.env.FUZZ_SEED ?? 1_129_2026);
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const params = (numRuns: number) => ({ seed: SEED, numRuns });

const exampleMain = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));
const fixtureMain = fileURLToPath(new URL('./fixture-app.js', import.meta.url));
const preload = `--import=${pathToFileURL(fileURLToPath(new URL('./proto-report.js', import.meta.url))).href}`;

interface Server {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly child: Child;
}

async function start(name: string, script: string, ready: RegExp): Promise<Server> {
  const port = await freePort();
  const child = await startChild(
    script,
    {
      PORT: String(port),
      SESSION_SECRET: randomBytes(32).toString('base64url'),
      // The example limits logins per address; the fuzzer logs in from one address many times.
      LOGIN_RATE_LIMIT: '0',
      NODE_OPTIONS: [process.env.NODE_OPTIONS, preload].filter(Boolean).join(' '),
    },
    ready,
    20_000,
  );
  return { name, port, url: `http://127.0.0.1:${port}`, child };
}

/** The server still answers; if not, fail with what it printed. */
async function assertAlive(server: Server): Promise<void> {
  let status: number | string;
  try {
    const res = await fetch(`${server.url}/heartbeat`, { signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    status = res.status;
  } catch (err) {
    status = String(err);
  }
  assert.equal(status, 200, `${server.name} no longer answers /heartbeat; its output:\n${server.child.output().slice(-4_000)}`);
}

/** Connections a server may close without an answer: framing we made ambiguous, CONNECT, upgrades. */
function mayGoUnanswered(req: HostileRequest): boolean {
  return (
    req.framing === 'raw' ||
    req.method === 'CONNECT' ||
    req.headers.some(([n, v]) => /^(content-length|transfer-encoding|upgrade)$/i.test(n) || (/^connection$/i.test(n) && /upgrade/i.test(v)))
  );
}

/** Send a hostile request; one that may leave the server waiting for more gets our end closed soon. */
const send = (server: Server, req: HostileRequest) => rawRequest(server.port, requestBytes(req), mayGoUnanswered(req) ? { endAfterMs: 500 } : {});

function assertNo5xx(server: Server, req: HostileRequest, answer: RawAnswer): void {
  if (answer.status === undefined) {
    assert.ok(mayGoUnanswered(req), `${server.name} closed the connection without an answer`);
    return;
  }
  assert.ok(answer.status < 500, `${server.name} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
}

/** The session ids (the part before the signature) of the session cookies an answer sets. */
function setSessionIds(answer: { headers: ReadonlyArray<readonly [string, string]> }): string[] {
  return headerValues(answer as RawAnswer, 'set-cookie')
    .filter((c) => c.startsWith('session_id='))
    .map((c) => c.slice('session_id='.length).split(';')[0]!.split('.')[0]!);
}

/** Every value sent in a Cookie header, and the id part of each. */
function sentIds(cookie: string): string[] {
  return cookie.split(';').flatMap((pair) => {
    const value = pair
      .slice(pair.indexOf('=') + 1)
      .trim()
      .replace(/^"|"$/g, '');
    return [value, value.split('.')[0]!].filter((v) => v.length > 0);
  });
}

const get = (server: Server, path: string, cookie: string) =>
  rawRequest(
    server.port,
    Buffer.from(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: application/json\r\ncookie: ${cookie}\r\nconnection: close\r\n\r\n`, 'latin1'),
  );

/** Cookies that are not `valid` but are made from it: truncated, altered, extended, re-signed, swapped. */
function variantsOf(valid: string): fc.Arbitrary<string> {
  const [id, mac] = valid.split('.') as [string, string];
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.%"';
  return fc
    .oneof(
      fc.integer({ min: 0, max: valid.length - 1 }).map((k) => valid.slice(0, k)),
      fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.constantFrom(...alphabet)).map(([i, c]) => valid.slice(0, i) + c + valid.slice(i + 1)),
      fc.stringMatching(/^[A-Za-z0-9_.-]{1,6}$/).map((s) => valid + s),
      fc.constantFrom(id, mac, `${mac}.${id}`, `${id}.`, `${id}.${id}`, valid.toUpperCase(), valid.toLowerCase()),
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((secret) => `${id}.${createHmac('sha256', Buffer.from(secret)).update(id).digest('base64url')}`),
      forgedSessionValue,
    )
    .filter((v) => v !== valid);
}

describe('fuzz: hostile requests at running apps', () => {
  let example: Server;
  let fixture: Server;

  before(async () => {
    [example, fixture] = await Promise.all([start('example app', exampleMain, /listening on/), start('fixture app', fixtureMain, /listening on/)]);
  });
  after(async () => {
    for (const server of [example, fixture]) {
      if (server !== undefined && server.child.proc.exitCode === null && server.child.proc.signalCode === null) {
        server.child.proc.kill('SIGKILL');
        await server.child.exited;
      }
    }
  });

  it('example app: random and hostile requests never get a 5xx, and it keeps answering', async () => {
    await fc.assert(
      fc.asyncProperty(hostileRequest, async (req) => {
        assertNo5xx(example, req, await send(example, req));
        await assertAlive(example);
      }),
      params(RUNS),
    );
  });

  it('fixture app (JSON and form bodies, CORS, CSRF, session writes): never a 5xx, and it keeps answering', async () => {
    await fc.assert(
      fc.asyncProperty(hostileRequest, async (req) => {
        assertNo5xx(fixture, req, await send(fixture, req));
        await assertAlive(fixture);
      }),
      params(RUNS),
    );
  });

  it('bodies and query strings full of prototype keys, at every route that parses them, leave Object.prototype untouched', async () => {
    const aimed = (server: Server, posts: readonly string[], gets: readonly string[]) =>
      fc
        .oneof(
          fc.record({
            method: fc.constantFrom('POST', 'PUT', 'PATCH'),
            target: fc.tuple(fc.constantFrom(...posts), fc.option(protoForm)).map(([p, q]) => (q === null ? p : `${p}?${q}`)),
            headers: fc.constant([['content-type', 'application/json']] as const),
            body: protoJson.map((t) => Buffer.from(t)),
            framing: fc.constant('length' as const),
          }),
          fc.record({
            method: fc.constantFrom('POST', 'PUT', 'PATCH'),
            target: fc.constantFrom(...posts),
            headers: fc.constant([['content-type', 'application/x-www-form-urlencoded']] as const),
            body: protoForm.map((t) => Buffer.from(t)),
            framing: fc.constant('length' as const),
          }),
          fc.record({
            method: fc.constant('GET'),
            target: fc.tuple(fc.constantFrom(...gets), protoForm).map(([p, q]) => `${p}?${q}`),
            headers: fc.constant([] as const),
            body: fc.constant(Buffer.alloc(0)),
            framing: fc.constant('length' as const),
          }),
        )
        .map((req) => ({ app: server.name, req: req as HostileRequest }));
    const cases = fc.oneof(
      aimed(fixture, ['/api/echo', '/login', '/form'], ['/api/query', '/items/1', '/me', '/form']),
      aimed(example, ['/login', '/sessions/revoke-others'], ['/profile', '/login']),
    );
    await fc.assert(
      fc.asyncProperty(cases, async ({ app, req }) => {
        const server = app === fixture.name ? fixture : example;
        assertNo5xx(server, req, await send(server, req));
        const res = await fetch(`${fixture.url}/proto-check`);
        assert.deepEqual(await res.json(), { added: [], enumerable: 0, polluted: false }, 'Object.prototype changed in the fixture app');
      }),
      params(RUNS),
    );
    // The example has no route to ask: it reports when it exits (the last test).
  });

  it('example app: a forged, guessed or altered session cookie never logs anyone in, and is never echoed', async () => {
    const login = await fetch(`${example.url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ username: 'victim', password: 'password' }),
      redirect: 'manual',
    });
    assert.equal(login.status, 302);
    const valid = cookiePair(login).slice('session_id='.length);
    // The property means something only if the real cookie does log in.
    assert.equal((await get(example, '/profile', `session_id=${valid}`)).status, 200);
    assert.equal((await get(example, '/', `session_id=${valid}`)).status, 200);

    const forgedCookie = fc.oneof(
      variantsOf(valid).map((v) => `session_id=${v}`),
      variantsOf(valid).map((v) => `session_id=${v}; session_id=${valid}`),
      variantsOf(valid).map((v) => `session_id=${valid}; session_id=${v}`),
      variantsOf(valid).map((v) => `__proto__=${valid}; constructor=${valid}; session_id=${v}`),
      cookieHeader.filter((c) => !c.split(/;\s*/).includes(`session_id=${valid}`)),
    );
    await fc.assert(
      fc.asyncProperty(forgedCookie, async (cookie) => {
        const profile = await get(example, '/profile', cookie);
        const home = await get(example, '/', cookie);
        for (const [what, answer, denied] of [
          ['/profile', profile, 401],
          ['/', home, 302],
        ] as const) {
          if (answer.status === 431 || answer.status === 400) continue; // a cookie too big or with characters no header may hold never reaches the app
          assert.equal(answer.status, denied, `${what} with a forged cookie answered ${answer.status}: ${answer.body.slice(0, 200)}`);
          const echoed = setSessionIds(answer).filter((id) => sentIds(cookie).includes(id));
          assert.deepEqual(echoed, [], `${what} set a session cookie carrying an id the client sent`);
        }
      }),
      params(Math.ceil(RUNS * 0.75)),
    );
    await assertAlive(example);
  });

  it('fixture app: a forged session cookie reads no session, and a forged CSRF token never passes', async () => {
    const login = await fetch(`${fixture.url}/login`, { method: 'POST', body: new URLSearchParams({ user: 'victim', password: 'pw' }) });
    assert.equal(login.status, 201);
    const valid = cookiePair(login).slice('session_id='.length);
    const page = await fetch(`${fixture.url}/form`, { headers: { cookie: `session_id=${valid}` } });
    const { token } = (await page.json()) as { token: string };
    const other = await fetch(`${fixture.url}/form`);
    const { token: othersToken } = (await other.json()) as { token: string };
    const post = (cookie: string, csrfToken: string) =>
      rawRequest(
        fixture.port,
        Buffer.from(
          `POST /form HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: application/json\r\ncookie: ${cookie}\r\nx-csrf-token: ${csrfToken}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 6\r\nconnection: close\r\n\r\nnote=x`,
          'latin1',
        ),
      );
    assert.equal((await post(`session_id=${valid}`, token)).status, 201, 'the real token passes');

    const forgedToken = fc
      .oneof(
        fc.constant(othersToken),
        fc.integer({ min: 0, max: token.length - 1 }).map((k) => token.slice(0, k)),
        fc.tuple(fc.integer({ min: 0, max: token.length - 1 }), fc.constantFrom(...'AQgw_-09')).map(([i, c]) => token.slice(0, i) + c + token.slice(i + 1)),
        fc.stringMatching(/^[A-Za-z0-9_-]{86}$/),
        fc.string({ unit: 'binary-ascii', maxLength: 120 }).filter((s) => !/[\r\n]/.test(s)),
      )
      .filter((t) => t !== token);
    await fc.assert(
      fc.asyncProperty(variantsOf(valid), forgedToken, async (forged, csrfToken) => {
        const me = await get(fixture, '/me', `session_id=${forged}`);
        // 400/431: a cookie too big or with characters no header may hold never reaches the app.
        if (me.status !== 400 && me.status !== 431) {
          assert.equal(me.status, 200);
          assert.deepEqual(JSON.parse(me.body), { user: null }, 'a forged cookie read the session');
        }
        const refused = await post(`session_id=${valid}`, csrfToken);
        assert.ok(refused.status === 403 || refused.status === 400, `a forged CSRF token got ${refused.status}`);
      }),
      params(Math.ceil(RUNS / 2)),
    );
  });

  it('both servers are still up, exit cleanly, printed no crash, and kept Object.prototype untouched', async () => {
    for (const server of [example, fixture]) {
      await assertAlive(server);
      server.child.proc.kill('SIGTERM');
      const code = await server.child.exited;
      const output = server.child.output();
      assert.equal(code, 0, `${server.name} exited with ${code}:\n${output.slice(-4_000)}`);
      assert.doesNotMatch(output, /FATAL|Uncaught|UnhandledPromiseRejection|Maximum call stack|heap out of memory/, `${server.name} printed a crash`);
      const report = /PROTOTYPE-REPORT (.*)/.exec(output);
      assert.ok(report, `${server.name} did not report on Object.prototype`);
      assert.deepEqual(JSON.parse(report[1]!), { added: [], enumerable: 0, polluted: false }, `${server.name}: Object.prototype changed`);
    }
  });
});
