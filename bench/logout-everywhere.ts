/**
 * Logout everywhere (issue 11), over Redis and over NATS: three example nodes (separate processes,
 * `dist/examples/login/main.js`) on a redis-server / nats-server of the bench's own, HAProxy
 * round-robin in front, node C's transport connection through a stall proxy.
 *
 * - Logout latency: a session known on A, B and C is logged out on A; how long the logout takes
 *   to answer, and how long until B and C, read back to back from the moment it starts, say 401.
 * - Stale reads: 1,000 logout-then-read tries with 8 clients at once, through HAProxy and directly
 *   (logout on one node, read at once on the two others); a read begun after the logout answered
 *   and served logged in is stale.
 * - Fencing: C's transport is stalled silently (TCP open, nothing forwarded); how long until C's
 *   `GET /ready` and a session read on C answer 503, how long a logout on A takes meanwhile, and
 *   how long until C is ready again once the stall ends.
 *
 * Run: `npm run bench:logout` (needs redis-server, nats-server, haproxy and a built example).
 * `BENCH_LEASE_MS` sets the nodes' lease (default: the store's default, 3000 ms);
 * `BENCH_TRIES`, `BENCH_LATENCY_TRIES`, `BENCH_PARTITIONS` change the counts.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { concurrently, eventually, exampleCluster, login, logout, profile, readyStatus, type Answer, type ExampleNode } from '../test/helpers/example-nodes.js';
import { haproxyBinary, startHaproxy } from '../test/helpers/haproxy.js';
import { hasServer, ownServer, type Engine } from '../test/helpers/servers.js';
import { stallProxy } from '../test/helpers/stall-proxy.js';
import { progress, recordSection } from './harness.js';

const LEASE_MS = process.env.BENCH_LEASE_MS === undefined ? undefined : Number(process.env.BENCH_LEASE_MS);
const TRIES = Number(process.env.BENCH_TRIES ?? 1000);
const LATENCY_TRIES = Number(process.env.BENCH_LATENCY_TRIES ?? 300);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 3);
const CLIENTS = 8;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function cookieOf(base: string, name: string): Promise<string> {
  const result = await login(base, name);
  if (!('cookie' in result)) throw new Error(`login at ${base} answered ${result.status}`);
  return result.cookie;
}

/** Read back to back until a read answers 401; the time (from `t0`) that read began. */
async function until401(node: ExampleNode, cookie: string, t0: number): Promise<number> {
  for (;;) {
    const began = performance.now();
    const read = await profile(node.url, cookie);
    if (read.status === 401) return began - t0;
    if (performance.now() - t0 > 30_000) throw new Error(`${node.url} still answers ${read.status} 30 s after a logout`);
  }
}

interface Result {
  engine: Engine;
  logoutP50: number;
  logoutP99: number;
  visibleP50: number;
  visibleP99: number;
  latencyStale: number;
  balancedStale: number;
  balancedOther: number;
  balanced503: number;
  directStale: number;
  direct503: number;
  fenceReady: number[];
  fenceRead: number[];
  partitionLogout: number[];
  healed: number[];
}

async function run(engine: Engine): Promise<Result> {
  const server = await ownServer(engine);
  const proxy = await stallProxy(server.url);
  const cluster = exampleCluster(LEASE_MS === undefined ? {} : { leaseMs: LEASE_MS });
  try {
    const a = await cluster.start(server.url);
    const b = await cluster.start(server.url);
    const c = await cluster.start(proxy.url);
    const nodes = [a, b, c];
    const lb = await startHaproxy(
      nodes.map((n) => n.port),
      { checkPath: '/ready', checkIntervalMs: 250 },
    );
    try {
      await eventually(async () => (await Promise.all(nodes.map((n) => readyStatus(n.url)))).every((s) => s === 200), 'every node ready');
      await pause(1000); // HAProxy's checks have seen every node up

      progress(`${engine}: logout latency over ${LATENCY_TRIES} logouts`);
      const logoutMs: number[] = [];
      const visibleMs: number[] = [];
      let latencyStale = 0;
      for (let i = 0; i < LATENCY_TRIES; i++) {
        const cookie = await cookieOf(a.url, `lat${i}`);
        for (const node of [b, c]) if ((await profile(node.url, cookie)).status !== 200) throw new Error('read-your-writes failed');
        const t0 = performance.now();
        const watchers = [b, c].map((node) => until401(node, cookie, t0));
        const out = await logout(a.url, cookie);
        if (out.status !== 302) throw new Error(`logout answered ${out.status}`);
        const done = performance.now() - t0;
        logoutMs.push(done);
        visibleMs.push(Math.max(...(await Promise.all(watchers))));
        for (const node of [b, c]) if ((await profile(node.url, cookie)).status === 200) latencyStale++;
      }

      progress(`${engine}: ${TRIES} logout-then-read tries through HAProxy, ${CLIENTS} clients`);
      const balanced: Answer[] = [];
      let balancedOther = 0;
      await concurrently(TRIES, CLIENTS, async (i) => {
        const cookie = await cookieOf(lb.url, `lb${i}`);
        await profile(lb.url, cookie);
        const out = await logout(lb.url, cookie);
        if (out.status !== 302) throw new Error(`logout answered ${out.status}`);
        const read = await profile(lb.url, cookie);
        if (read.servedBy !== out.servedBy) balancedOther++;
        balanced.push(read);
      });

      progress(`${engine}: ${TRIES} logout-then-read tries directly, ${CLIENTS} clients`);
      const direct: Answer[] = [];
      await concurrently(TRIES, CLIENTS, async (i) => {
        const [writer, r1, r2] = [nodes[i % 3]!, nodes[(i + 1) % 3]!, nodes[(i + 2) % 3]!];
        const cookie = await cookieOf(writer.url, `direct${i}`);
        await Promise.all([profile(r1.url, cookie), profile(r2.url, cookie)]);
        const out = await logout(writer.url, cookie);
        if (out.status !== 302) throw new Error(`logout answered ${out.status}`);
        direct.push(...(await Promise.all([profile(r1.url, cookie), profile(r2.url, cookie)])));
      });

      const fenceReady: number[] = [];
      const fenceRead: number[] = [];
      const partitionLogout: number[] = [];
      const healed: number[] = [];
      for (let round = 0; round < PARTITIONS; round++) {
        progress(`${engine}: silent partition of node C, round ${round + 1} of ${PARTITIONS}`);
        const probe = await cookieOf(a.url, `probe${round}`);
        const doomed = await cookieOf(a.url, `doomed${round}`);
        await eventually(async () => (await profile(c.url, probe)).status === 200, 'C knows the probe session');
        proxy.stall();
        const t0 = performance.now();
        const sawReady = (async () => {
          while ((await readyStatus(c.url)) !== 503) await pause(10);
          return performance.now() - t0;
        })();
        const sawRead = (async () => {
          while ((await profile(c.url, probe)).status !== 503) await pause(10);
          return performance.now() - t0;
        })();
        const outStarted = performance.now();
        const out = await logout(a.url, doomed);
        if (out.status !== 302) throw new Error(`logout during the partition answered ${out.status}`);
        partitionLogout.push(performance.now() - outStarted);
        fenceReady.push(await sawReady);
        fenceRead.push(await sawRead);
        await pause(1000);
        proxy.resume();
        const t1 = performance.now();
        while ((await readyStatus(c.url)) !== 200) await pause(10);
        healed.push(performance.now() - t1);
        if ((await profile(c.url, doomed)).status !== 401) throw new Error('the healed node missed a logout made during the partition');
        await pause(1000);
      }

      const tally = (answers: Answer[], status: number) => answers.filter((r) => r.status === status).length;
      return {
        engine,
        logoutP50: percentile(logoutMs, 50),
        logoutP99: percentile(logoutMs, 99),
        visibleP50: percentile(visibleMs, 50),
        visibleP99: percentile(visibleMs, 99),
        latencyStale,
        balancedStale: tally(balanced, 200),
        balancedOther,
        balanced503: tally(balanced, 503),
        directStale: tally(direct, 200),
        direct503: tally(direct, 503),
        fenceReady,
        fenceRead,
        partitionLogout,
        healed,
      };
    } finally {
      await lb.stop();
    }
  } finally {
    proxy.resume();
    await cluster.stopAll();
    await proxy.close();
    await server.kill();
  }
}

const missing = [...(['redis', 'nats'] as const).filter((e) => !hasServer(e)).map((e) => `${e}-server`), ...(haproxyBinary() === undefined ? ['haproxy'] : [])];
if (missing.length > 0) {
  progress(`this benchmark runs its own servers and HAProxy: install ${missing.join(', ')} first (Debian: apt-get install redis-server nats-server haproxy)`);
  process.exit(1);
}

const loadBefore = loadavg()[0]!;
const results: Result[] = [];
for (const engine of ['redis', 'nats'] as const) results.push(await run(engine));

const ms = (n: number) => `${n.toFixed(1)} ms`;
const list = (values: number[]) => values.map((v) => Math.round(v).toLocaleString('en-US')).join(', ');
const lease = LEASE_MS ?? 3000;
const table = [
  `| transport | logout answered p50 / p99 | logged out on B and C p50 / p99 | stale reads after the logout answered: ${LATENCY_TRIES} sequential · ${TRIES} through HAProxy · ${2 * TRIES} direct | 503 through HAProxy · direct | C not ready after a silent stall (ms) | C's session reads 503 after (ms) | logout on A during the stall (ms) | C ready again after healing (ms) |`,
  '|---|---:|---:|---:|---:|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.engine} | ${ms(r.logoutP50)} / ${ms(r.logoutP99)} | ${ms(r.visibleP50)} / ${ms(r.visibleP99)} | **${r.latencyStale} · ${r.balancedStale} · ${r.directStale}** | ${r.balanced503} · ${r.direct503} | ${list(r.fenceReady)} | ${list(r.fenceRead)} | ${list(r.partitionLogout)} | ${list(r.healed)} |`,
  ),
].join('\n');
console.log(table);
const other = results.map((r) => `${r.engine} ${r.balancedOther} of ${TRIES}`).join(', ');
recordSection(
  'logout',
  `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:logout\` (Node ${process.version}, lease ${lease} ms, three example nodes, a redis-server / nats-server of the bench's own and HAProxy round-robin on the same 2-core machine; ${PARTITIONS} silent partitions per transport; 1-minute load average ${loadBefore.toFixed(2)} before the run, ${loadavg()[0]!.toFixed(2)} after). Through HAProxy, the read after a logout landed on another node than the logout in ${other} tries.\n\n${table}`,
);
