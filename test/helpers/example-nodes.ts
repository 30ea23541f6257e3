// Example app nodes as separate OS processes replicating sessions, and what a test does to them:
// log in, log out and read as a browser would; freeze a node with SIGSTOP and thaw it with SIGCONT.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startChild, type Child } from './child.js';
import { cookiePair } from './cookies.js';
import { freePort } from './outage.js';

const main = fileURLToPath(new URL('../../examples/login/main.js', import.meta.url));

export interface ExampleNode {
  readonly url: string;
  readonly port: number;
  readonly child: Child;
}

export interface ExampleCluster {
  readonly nodes: ExampleNode[];
  /** Start one more node on `replication` (a transport URL; a node may get its own, e.g. through a proxy). */
  start(replication: string, env?: NodeJS.ProcessEnv): Promise<ExampleNode>;
  /** SIGSTOP: the process is frozen, its sockets stay open, the kernel keeps queueing to it. */
  freeze(node: ExampleNode): void;
  /** SIGCONT. */
  thaw(node: ExampleNode): void;
  stopAll(): Promise<void>;
}

/**
 * Nodes of one cluster: a secret no other test shares, a short lease (`leaseMs`) so fencing shows
 * within a test's patience, and no login rate limit (the tests log in thousands of times).
 *
 * @example
 * ```ts
 * const c = exampleCluster({ leaseMs: 1000 });
 * const [a, b] = [await c.start(server.url), await c.start(server.url)];
 * ```
 */
export function exampleCluster(options: { leaseMs?: number } = {}): ExampleCluster {
  const secret = randomBytes(32).toString('base64url');
  const nodes: ExampleNode[] = [];
  const frozen = new Set<ExampleNode>();
  return {
    nodes,
    async start(replication, env = {}) {
      const port = await freePort();
      const child = await startChild(
        main,
        {
          PORT: String(port),
          SESSION_SECRET: secret,
          SESSION_REPLICATION: replication,
          LOGIN_RATE_LIMIT: '0',
          ...(options.leaseMs !== undefined ? { SESSION_LEASE_MS: String(options.leaseMs) } : {}),
          ...env,
        },
        /listening on/,
        20_000,
      );
      const node = { url: `http://127.0.0.1:${port}`, port, child };
      nodes.push(node);
      return node;
    },
    freeze(node) {
      frozen.add(node);
      node.child.proc.kill('SIGSTOP');
    },
    thaw(node) {
      frozen.delete(node);
      node.child.proc.kill('SIGCONT');
    },
    async stopAll() {
      await Promise.all(
        nodes.map(async ({ child }) => {
          if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
          // A frozen process would queue SIGTERM forever.
          child.proc.kill('SIGKILL');
          await child.exited;
        }),
      );
      frozen.clear();
    },
  };
}

/** What one request got: the status, the body, and the node HAProxy says answered (if any). */
export interface Answer {
  status: number;
  body: string;
  servedBy: string | undefined;
}

const patience = () => AbortSignal.timeout(30_000);

/** Log in as `name` at `base` (a node or the load balancer): the session cookie, or the answer when it failed. */
export async function login(base: string, name: string): Promise<{ cookie: string; servedBy: string | undefined } | Answer> {
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    body: new URLSearchParams({ username: name, password: 'password' }),
    redirect: 'manual',
    signal: patience(),
  });
  const body = await res.text();
  const servedBy = res.headers.get('x-served-by') ?? undefined;
  return res.status === 302 ? { cookie: cookiePair(res), servedBy } : { status: res.status, body, servedBy };
}

/** Log out: 302 to /login once the logout is done. */
export async function logout(base: string, cookie: string): Promise<Answer> {
  const res = await fetch(`${base}/logout`, { headers: { cookie }, redirect: 'manual', signal: patience() });
  return { status: res.status, body: await res.text(), servedBy: res.headers.get('x-served-by') ?? undefined };
}

/** `GET /profile` as JSON: 200 with the username while logged in, 401 when not, 503 when the node cannot say. */
export async function profile(base: string, cookie: string, signal: AbortSignal = patience()): Promise<Answer> {
  const res = await fetch(`${base}/profile`, { headers: { cookie, accept: 'application/json' }, signal });
  return { status: res.status, body: await res.text(), servedBy: res.headers.get('x-served-by') ?? undefined };
}

/** `GET /ready`'s status. */
export async function readyStatus(base: string): Promise<number> {
  const res = await fetch(`${base}/ready`, { signal: patience() });
  await res.arrayBuffer();
  return res.status;
}

/** Poll `check` every 100 ms until it holds; fail naming `what` after `limitMs`. */
export async function eventually(check: () => Promise<boolean>, what: string, limitMs = 20_000): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > limitMs) throw new Error(`timed out after ${limitMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - started;
}

/** Run `count` tasks on `clients` concurrent workers; task i gets i and the worker's number. */
export async function concurrently(count: number, clients: number, task: (i: number, client: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let i = next++; i < count; i = next++) await task(i, client);
    }),
  );
}
