// Issue 11, tried as a new user would: three example nodes (separate processes) replicating over a
// redis-server and then a nats-server of the test's own, HAProxy round-robin in front (no
// stickiness), eight clients at once. A logout must reach every node before it completes; a node
// cut off from the transport (silently, or frozen with SIGSTOP) must stop serving sessions within
// about a lease, say so on GET /ready, and come back with every logout applied; a transport that
// dies for 2 s must never make an acknowledged login read as logged out.
//
// Counts are moderate here (200 tries per engine); `npm run bench:logout` runs the 1,000
// and measures the times. Time bounds are generous: this checks behaviour, not speed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  concurrently,
  eventually,
  exampleCluster,
  login,
  logout,
  profile,
  readyStatus,
  type Answer,
  type ExampleCluster,
  type ExampleNode,
} from '../helpers/example-nodes.js';
import { haproxyBinary, startHaproxy, type Haproxy } from '../helpers/haproxy.js';
import { hasServer, ownServer, type Engine, type OwnServer } from '../helpers/servers.js';
import { stallProxy, type StallProxy } from '../helpers/stall-proxy.js';

const inCi = process.env.CI === 'true';
const LEASE_MS = 1000;
const TRIES = Number(process.env.LOGOUT_TRIES ?? 200);
const CLIENTS = 8;
const OUTAGES = 3;
/** How long a fenced node may take to say so, and a healed one to serve again: many leases. */
const BOUND_MS = 15_000;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function missing(engine: Engine): string[] {
  return [...(hasServer(engine) ? [] : [`${engine}-server`]), ...(haproxyBinary() === undefined ? ['haproxy'] : [])];
}

async function loggedIn(base: string, name: string): Promise<string> {
  const result = await login(base, name);
  if (!('cookie' in result)) assert.fail(`login of ${name} at ${base} answered ${result.status}: ${result.body.slice(0, 200)}`);
  return result.cookie;
}

function tally(answers: readonly Answer[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const { status } of answers) out[status] = (out[status] ?? 0) + 1;
  return out;
}

for (const engine of ['redis', 'nats'] as Engine[]) {
  const absent = missing(engine);
  const skip = absent.length > 0 && !inCi ? `${absent.join(' and ')} not installed (set CI=true to make this a failure)` : false;

  describe(`logout everywhere: three example nodes over ${engine}, HAProxy round-robin`, { skip, concurrency: false }, () => {
    let server: OwnServer;
    let proxy: StallProxy;
    let cluster: ExampleCluster;
    let lb: Haproxy;
    let nodes: ExampleNode[];
    /** The node whose transport connection goes through the stall proxy. */
    let c: ExampleNode;

    before(async () => {
      assert.deepEqual(missing(engine), [], 'CI installs every component these tests use');
      server = await ownServer(engine);
      proxy = await stallProxy(server.url);
      cluster = exampleCluster({ leaseMs: LEASE_MS });
      const a = await cluster.start(server.url);
      const b = await cluster.start(server.url);
      c = await cluster.start(proxy.url);
      nodes = [a, b, c];
      lb = await startHaproxy(
        nodes.map((n) => n.port),
        { checkPath: '/ready', checkIntervalMs: 250 },
      );
    });

    after(async () => {
      // A node that died during a test is the most useful thing to see: print what it said.
      for (const node of cluster?.nodes ?? []) {
        const { exitCode, signalCode } = node.child.proc;
        if (exitCode !== null || (signalCode !== null && signalCode !== 'SIGKILL'))
          console.error(`node ${node.port} exited (${exitCode ?? signalCode}); its output:\n${node.child.output().slice(-4000)}`);
      }
      proxy?.resume();
      await cluster?.stopAll();
      await lb?.stop();
      await proxy?.close();
      await server?.kill();
    });

    /** Every node ready, and HAProxy sending to all three again. */
    async function allReady(): Promise<void> {
      await eventually(async () => (await Promise.all(nodes.map((n) => readyStatus(n.url)))).every((s) => s === 200), 'every node ready', BOUND_MS);
      await eventually(
        async () => {
          const seen = new Set<string | undefined>();
          for (let i = 0; i < 9; i++)
            seen.add((await fetch(`${lb.url}/ready`).then(async (r) => (await r.arrayBuffer(), r.headers.get('x-served-by')))) ?? undefined);
          return seen.size === 3;
        },
        'HAProxy balancing over all three nodes',
        BOUND_MS,
      );
    }

    it(`${TRIES} logouts, each followed at once by reads on the two other nodes: none served logged in`, async () => {
      await allReady();
      const reads: Answer[] = [];
      await concurrently(TRIES, CLIENTS, async (i) => {
        const [writer, ...readers] = [nodes[i % 3]!, nodes[(i + 1) % 3]!, nodes[(i + 2) % 3]!];
        const cookie = await loggedIn(writer.url, `direct${i}`);
        // The readers know the session first, so a stale read is possible at all.
        for (const reader of readers) assert.equal((await profile(reader.url, cookie)).status, 200, `try ${i}: read-your-writes before the logout`);
        assert.equal((await logout(writer.url, cookie)).status, 302, `try ${i}: logout`);
        for (const reader of readers) reads.push(await profile(reader.url, cookie));
      });
      assert.deepEqual(tally(reads), { 401: 2 * TRIES }, 'every read begun after a logout completed answers logged out');
    });

    it(`${TRIES} logout-then-read tries through HAProxy with ${CLIENTS} clients: none served logged in`, async () => {
      await allReady();
      const reads: Answer[] = [];
      let otherNode = 0;
      await concurrently(TRIES, CLIENTS, async (i) => {
        const cookie = await loggedIn(lb.url, `balanced${i}`);
        assert.equal((await profile(lb.url, cookie)).status, 200, `try ${i}: read-your-writes through HAProxy`);
        const out = await logout(lb.url, cookie);
        assert.equal(out.status, 302, `try ${i}: logout`);
        const read = await profile(lb.url, cookie);
        if (read.servedBy !== out.servedBy) otherNode++;
        reads.push(read);
      });
      assert.deepEqual(tally(reads), { 401: TRIES }, 'no read after a logout is served logged in, on whichever node it lands');
      assert.ok(otherNode >= TRIES / 4, `round-robin sent reads to another node than the logout's (${otherNode} of ${TRIES})`);
    });

    it('a node whose transport is silently stalled answers 503 and is not ready within a bound, the others keep serving, and it comes back with every logout applied', async () => {
      await allReady();
      const [a, b] = [nodes[0]!, nodes[1]!];
      const cookies: string[] = [];
      for (let i = 0; i < 40; i++) cookies.push(await loggedIn(a.url, `stall${i}`));
      for (const cookie of cookies) assert.equal((await profile(c.url, cookie)).status, 200, 'the node to be cut off knows every session');
      const kept = cookies.slice(0, 20);
      const early = cookies.slice(20, 30); // logged out as the partition begins
      const late = cookies.slice(30); // logged out while the node is known to be fenced
      const loggedOut = new Set<string>();

      // Any read of a session logged out elsewhere that the cut-off node serves logged in is a
      // failure, whenever it happens: it is watched for the whole partition and the healing.
      const stale: string[] = [];
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          for (const cookie of [...loggedOut]) {
            const read = await profile(c.url, cookie);
            if (read.status === 200) stale.push(read.body);
          }
          await pause(50);
        }
      })();
      try {
        await partition();
      } finally {
        watching = false;
        await watcher.catch(() => {});
      }
      assert.deepEqual(stale, [], 'the cut-off node never served a logged-out session');

      async function partition(): Promise<void> {
        proxy.stall();
        try {
          const started = Date.now();
          await concurrently(early.length, CLIENTS, async (i) => {
            assert.equal((await logout(a.url, early[i]!)).status, 302, 'a logout completes although one peer went silent');
            loggedOut.add(early[i]!);
          });
          const logoutMs = Date.now() - started;
          assert.ok(logoutMs < BOUND_MS, `logouts completed in ${logoutMs} ms with a silent peer`);

          const fencedAfter = await eventually(
            async () => (await profile(c.url, kept[0]!)).status === 503 && (await readyStatus(c.url)) === 503,
            'the cut-off node fences itself',
            BOUND_MS,
          );
          assert.ok(fencedAfter < BOUND_MS);
          const fenced = await profile(c.url, kept[1]!);
          assert.equal(fenced.status, 503, 'session routes answer 503 on the fenced node');
          assert.doesNotMatch(fenced.body, /username/);
          assert.equal((await fetch(`${c.url}/heartbeat`)).status, 200, '/heartbeat is liveness: still 200');

          for (const cookie of late) {
            assert.equal((await logout(a.url, cookie)).status, 302, 'logouts keep completing while the node is fenced');
            loggedOut.add(cookie);
          }
          for (const node of [a, b]) {
            for (const cookie of kept) assert.equal((await profile(node.url, cookie)).status, 200, 'the other nodes keep serving');
            for (const cookie of loggedOut) assert.equal((await profile(node.url, cookie)).status, 401);
          }
          // HAProxy's /ready check drains the fenced node: every balanced read is served again.
          await eventually(
            async () => {
              for (const cookie of kept) if ((await profile(lb.url, cookie)).status !== 200) return false;
              return true;
            },
            'HAProxy stops sending to the fenced node',
            BOUND_MS,
          );
          await pause(2 * LEASE_MS);
        } finally {
          proxy.resume();
        }

        await eventually(async () => (await readyStatus(c.url)) === 200, 'the healed node is ready again', BOUND_MS);
        for (const cookie of kept) assert.equal((await profile(c.url, cookie)).status, 200, 'the healed node serves live sessions');
        for (const cookie of loggedOut) assert.equal((await profile(c.url, cookie)).status, 401, 'with every logout made meanwhile applied');
      }
    });

    it('a node frozen with SIGSTOP for longer than the lease answers 503 when thawed, never a logged-out session, then serves again', async () => {
      await allReady();
      const a = nodes[0]!;
      const cookies: string[] = [];
      for (let i = 0; i < 20; i++) cookies.push(await loggedIn(a.url, `frozen${i}`));
      for (const cookie of cookies) assert.equal((await profile(c.url, cookie)).status, 200);
      const [kept, gone] = [cookies.slice(0, 10), cookies.slice(10)];

      // Its transport stays silent until the queued requests are answered: thawed, it cannot hear
      // its heartbeats (nor the logouts) yet, so only its lease, checked on the clock when each
      // request comes in, can tell it to refuse. Without the silence a fast transport may let it
      // catch up before the first request is read, and then 401 would be right too.
      proxy.stall();
      cluster.freeze(c);
      let queued: Promise<Answer>[] = [];
      try {
        const frozenAt = Date.now();
        for (const cookie of gone) assert.equal((await logout(a.url, cookie)).status, 302, 'a logout completes while a peer is frozen');
        const logoutMs = Date.now() - frozenAt;
        assert.ok(logoutMs < BOUND_MS, `logouts completed in ${logoutMs} ms with a frozen peer`);
        await pause(Math.max(0, 3 * LEASE_MS - (Date.now() - frozenAt)));
        // Requests sent to the frozen process wait in its kernel queue: they are the first it answers.
        queued = [...gone, ...kept].map((cookie) => profile(c.url, cookie));
        await pause(300);
      } finally {
        cluster.thaw(c);
      }
      try {
        const answers = await Promise.all(queued);
        assert.deepEqual(
          tally(answers),
          { 503: gone.length + kept.length },
          'thawed but still unheard, it refuses every session: it checks its lease before answering, not a timer',
        );
      } finally {
        proxy.resume();
      }

      await eventually(async () => (await readyStatus(c.url)) === 200, 'the thawed node is ready again', BOUND_MS);
      for (const cookie of kept) assert.equal((await profile(c.url, cookie)).status, 200);
      for (const cookie of gone) assert.equal((await profile(c.url, cookie)).status, 401);
    });

    it(`the ${engine} server killed for 2 s under load, ${OUTAGES} times: no acknowledged login ever reads as logged out`, async () => {
      await allReady();
      const acked: string[] = [];
      const wrong: string[] = [];
      let stop = false;
      let n = 0;
      const check = (read: Answer, what: string) => {
        // 503 is allowed while the cluster cannot confirm; 401 would be a lost login.
        if (read.status !== 200 && read.status !== 503) wrong.push(`${what}: ${read.status}`);
      };
      // A client whose request fails outright (a node closed the connection) records it and stops
      // the run: nothing of this test may go on running once it has ended.
      const clients = Array.from({ length: CLIENTS }, async (_, client) => {
        while (!stop) {
          const i = n++;
          const [writer, reader] = [nodes[i % 3]!, nodes[(i + 1) % 3]!];
          try {
            const result = await login(writer.url, `load${client}-${i}`);
            if ('cookie' in result) {
              acked.push(result.cookie);
              check(await profile(reader.url, result.cookie), `login ${i} read at once on another node`);
            } else if (result.status !== 503) wrong.push(`login ${i}: ${result.status}`);
            const old = acked[Math.floor(Math.random() * acked.length)];
            if (old !== undefined) check(await profile(nodes[i % 3]!.url, old), 'an earlier login read again');
            if (!('cookie' in result)) await pause(20);
          } catch (err) {
            const dead = nodes.filter((node) => node.child.proc.exitCode !== null || node.child.proc.signalCode !== null).map((node) => node.port);
            wrong.push(
              `client ${client}, try ${i}: ${(err as Error).message} (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : 'no cause'}); nodes exited: [${dead.join(', ')}]`,
            );
            stop = true;
          }
        }
      });
      try {
        const going = () => {
          if (stop) throw new Error(`the load stopped: ${wrong.join('; ')}`);
          return true;
        };
        await eventually(async () => going() && acked.length >= 100, 'logins before the outage');
        // A lost login shows only if the outage lands between an acknowledgement and its delivery:
        // several outages make that likely enough to see on the code the issue was filed against.
        for (let outage = 0; outage < OUTAGES && going(); outage++) {
          await server.kill();
          await pause(2000);
          await server.start();
          const before = acked.length;
          await eventually(async () => going() && acked.length >= before + 100, 'logins after the transport is back', 30_000);
        }
      } finally {
        stop = true;
        await Promise.all(clients);
      }
      assert.deepEqual(wrong, [], 'an acknowledged login is never read as logged out, during the outage or after it');
      await allReady();
      for (const node of nodes) {
        await eventually(
          async () => {
            for (const cookie of acked) if ((await profile(node.url, cookie)).status !== 200) return false;
            return true;
          },
          `node ${node.port} serves every acknowledged login`,
          BOUND_MS,
        );
      }
    });
  });
}
