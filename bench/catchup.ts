/**
 * Catch-up traffic after a transport restart, for 3 and 5 nodes, over a redis-server and a
 * nats-server of the bench's own (free ports; killed with SIGKILL and restarted). Each node is a
 * replicated store with its own connection, all in this process; a counting wrapper adds up the
 * bytes of every frame each node receives, by kind, so catch-up (hello/here, digests, records) is
 * told apart from heartbeats and ops. 20,000 sessions; 1,000 more written (spread over the nodes)
 * while the engine is down. The longest event-loop stall is measured over the catch-up, for the
 * whole process (all nodes at once: pessimistic for one node).
 *
 * Run: `npm run bench:catchup` (needs redis-server and/or nats-server on PATH).
 */
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { natsTransport, redisTransport, replicatedStore } from '../src/index.js';
import type { ReplicatedSessionStore } from '../src/session/replication/store.js';
import { generateSessionId } from '../src/session/id.js';
import { catchUpBytes, CATCH_UP_KINDS, counting, received, type Received } from '../test/helpers/counting-transport.js';
import { hasServer, ownServer, type Engine } from '../test/helpers/servers.js';
import { fmt, progress, recordSection } from './harness.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 20_000);
const OUTAGE_WRITES = Number(process.env.BENCH_OUTAGE_WRITES ?? 1000);
const OPTIONS = { idleTimeoutMs: 3_600_000, absoluteTimeoutMs: 7_200_000, touchIntervalMs: 600_000, maxSessionBytes: 4096, maxSessions: 1_000_000 };
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  engine: Engine;
  nodes: number;
  catchUp: number;
  heartbeatRate: number;
  stateBytes: number;
  seconds: number;
  stallMs: number;
  /** Catch-up kB by message kind, for the record. */
  kinds: string;
}

async function until(what: string, ms: number, done: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await pause(50);
  }
}

const others = (r: Received) => [...r.bytes].filter(([kind]) => !CATCH_UP_KINDS.includes(kind)).reduce((s, [, b]) => s + b, 0);

async function run(engine: Engine, n: number): Promise<Row> {
  const server = await ownServer(engine);
  const secret = randomBytes(32).toString('base64url');
  const seen = Array.from({ length: n }, () => received({ countRecords: false }));
  const nodes: ReplicatedSessionStore[] = seen.map((s) => {
    const transport = engine === 'redis' ? redisTransport({ url: server.url }) : natsTransport({ servers: server.url });
    return replicatedStore({ transport: counting(transport, s), secret, cluster: 'catchup', joinTimeoutMs: 500, warn: () => {} });
  });
  try {
    for (const node of nodes) await node.start(OPTIONS);
    progress(`${engine}, ${n} nodes: ${fmt(SESSIONS)} sessions`);
    const ids = Array.from({ length: SESSIONS }, () => generateSessionId());
    for (let i = 0; i < ids.length; i += 250)
      await Promise.all(ids.slice(i, i + 250).map((id) => nodes[0]!.setValue(id, 'cart', `{"items":[${i % 7}],"by":"${id.slice(0, 8)}"}`)));
    await until('every node holds every session', 60_000, () => nodes.every((x) => x.liveSessions === SESSIONS));
    const stateBytes = JSON.stringify(nodes[0]!.dump()).length;

    // Steady state: what the nodes receive with nothing happening (heartbeats).
    await pause(1000);
    for (const s of seen) s.reset();
    const quiet0 = performance.now();
    await pause(3000);
    const heartbeatRate = seen.reduce((sum, s) => sum + others(s), 0) / ((performance.now() - quiet0) / 1000);

    progress(`${engine}, ${n} nodes: engine down, ${OUTAGE_WRITES} sessions written meanwhile`);
    await server.kill();
    await Promise.allSettled(Array.from({ length: OUTAGE_WRITES }, (_, i) => nodes[i % n]!.setValue(generateSessionId(), 'cart', '"outage"')));
    await pause(300);
    for (const s of seen) s.reset();
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const t0 = performance.now();
    await server.start();
    const total = SESSIONS + OUTAGE_WRITES;
    await until('every node caught up', 120_000, () => nodes.every((x) => x.liveSessions === total && x.caughtUp));
    const seconds = (performance.now() - t0) / 1000;
    await pause(500); // stragglers of the catch-up still count
    delay.disable();
    const catchUp = catchUpBytes(...seen);
    const kinds = CATCH_UP_KINDS.map((kind) => [kind, seen.reduce((sum, s) => sum + (s.bytes.get(kind) ?? 0), 0)] as const).filter(([, b]) => b > 0);
    const byKind = kinds.map(([kind, b]) => `${kind} ${(b / 1e3).toFixed(1)}`).join(', ');
    progress(`${engine}, ${n} nodes: caught up; catch-up kB by kind: ${byKind}`);
    return { engine, nodes: n, catchUp, heartbeatRate, stateBytes, seconds, stallMs: delay.max / 1e6, kinds: byKind };
  } finally {
    for (const node of nodes) await node.stop().catch(() => {});
    await server.kill();
  }
}

const rows: Row[] = [];
for (const engine of (process.env.BENCH_ENGINES ?? 'redis,nats').split(',') as Engine[]) {
  if (!hasServer(engine)) {
    progress(`${engine}: no ${engine}-server on PATH, skipped`);
    continue;
  }
  for (const n of (process.env.BENCH_NODES ?? '3,5').split(',').map(Number)) rows.push(await run(engine, n));
}

const mb = (b: number) => (b / 1e6).toFixed(2);
const lines = [
  `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:catchup\`: ${fmt(SESSIONS)} sessions, ${fmt(OUTAGE_WRITES)} more written while the engine was down (SIGKILL, then restarted on the same port); all nodes in one process, each with its own connection; Node ${process.version}.`,
  '',
  "| engine | nodes | catch-up MB delivered | vs 3 nodes | one node's state MB | heartbeats B/s (steady) | caught up in s | longest event-loop stall ms |",
  '|---|---:|---:|---:|---:|---:|---:|---:|',
];
for (const r of rows) {
  const three = rows.find((x) => x.engine === r.engine && x.nodes === 3) ?? r;
  lines.push(
    `| ${r.engine} | ${r.nodes} | ${mb(r.catchUp)} | ${(r.catchUp / three.catchUp).toFixed(2)}× | ${mb(r.stateBytes)} | ${fmt(r.heartbeatRate)} | ${r.seconds.toFixed(2)} | ${r.stallMs.toFixed(0)} |`,
  );
}
const verdicts = [...new Set(rows.map((r) => r.engine))].map((engine) => {
  const three = rows.find((x) => x.engine === engine && x.nodes === 3);
  const five = rows.find((x) => x.engine === engine && x.nodes === 5);
  if (three === undefined || five === undefined) return `${engine}: not both 3 and 5 nodes`;
  const ratio = five.catchUp / three.catchUp;
  const stall = Math.max(three.stallMs, five.stallMs);
  return `${engine}: 5 nodes ${ratio.toFixed(2)}× 3 nodes (target ≤ ${((5 / 3) * 1.2).toFixed(2)}×) — **${ratio <= 2 ? 'met' : 'missed'}**; longest stall ${stall.toFixed(0)} ms (target ≤ 50) — **${stall <= 50 ? 'met' : 'missed'}**.`;
});
lines.push(
  '',
  'Catch-up bytes are frames of the catch-up kinds (hello/here, sum/same, buckets, want/need, records, revocations, synced) that the nodes received after the restart, their own broadcasts included; heartbeats and ops are not counted. kB by kind:',
  '',
  ...rows.map((r) => `- ${r.engine}, ${r.nodes} nodes: ${r.kinds}`),
  '',
  ...verdicts,
);
const markdown = lines.join('\n');
console.log(markdown);
if (process.env.BENCH_RECORD !== '0') recordSection('catchup', markdown);
process.exit(0);
