/**
 * Replication lag and throughput of the replicated memory store, over Redis and over NATS: node A
 * (this process) writes, node B (a child process) reads. Lag is from the moment A starts a write
 * until B's `getValue` returns the value (both read the same wall clock, to the microsecond).
 * Writes per second are acknowledged writes on A with 32 in flight, and what B applied meanwhile.
 *
 * Run: `npm run bench:replication` (needs Redis at REDIS_URL and NATS at NATS_URL, loopback by default).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { natsTransport, redisTransport, replicatedStore } from '../src/index.js';
import { generateSessionId } from '../src/session/id.js';
import { fmt, progress, recordSection } from './harness.js';

const LAG_WRITES = Number(process.env.BENCH_LAG_WRITES ?? 3000);
const WARMUP_WRITES = Number(process.env.BENCH_WARMUP_WRITES ?? 3000);
const THROUGHPUT_MS = Number(process.env.BENCH_THROUGHPUT_MS ?? 4000);
const IN_FLIGHT = 32;
const reader = fileURLToPath(new URL('./targets/replica-reader.js', import.meta.url));
const wall = () => performance.timeOrigin + performance.now();
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function ask(child: ChildProcess): Promise<{ lags: number[]; raw: number[]; applied: number }> {
  child.send('report');
  const [reply] = (await once(child, 'message')) as [{ lags: number[]; raw: number[]; applied: number }];
  return reply;
}

interface Row {
  engine: string;
  p50: number;
  p99: number;
  max: number;
  ackP50: number;
  ackP99: number;
  rawP50: number;
  rawP99: number;
  writes: number;
  applied: number;
}

async function run(engine: 'redis' | 'nats', url: string): Promise<Row> {
  const secret = randomBytes(32).toString('base64url');
  const child = fork(reader, { env: { ...process.env, BENCH_TRANSPORT_URL: url, BENCH_SECRET: secret } });
  await once(child, 'message');
  const transport = engine === 'nats' ? natsTransport({ servers: url }) : redisTransport({ url });
  const a = replicatedStore({ transport, secret, cluster: 'bench', joinTimeoutMs: 200 });
  await a.start({ idleTimeoutMs: 3_600_000, absoluteTimeoutMs: 7_200_000, touchIntervalMs: 600_000, maxSessionBytes: 4096, maxSessions: 10_000_000 });
  try {
    // Lag, one write at a time with a short pause, so it measures the path and not a queue. The
    // warm-up writes run the same way and are not counted: both processes have compiled the
    // path and sized their heaps, as a server that has been up for a while has.
    const writeSessions = async (count: number, acks: number[]) => {
      for (let i = 0; i < count; i++) {
        const t0 = wall();
        await a.setValue(generateSessionId(), 't0', t0);
        acks.push(wall() - t0);
        if (i % 10 === 0) await pause(1);
      }
      await pause(200);
      return (await ask(child)).lags;
    };
    progress(`${engine}: ${WARMUP_WRITES} warm-up writes`);
    await writeSessions(WARMUP_WRITES, []);
    progress(`${engine}: lag over ${LAG_WRITES} writes`);
    const acks: number[] = [];
    const lags = (await writeSessions(LAG_WRITES, acks)).sort((x, y) => x - y);
    if (lags.length !== LAG_WRITES) throw new Error(`${engine}: node B saw ${lags.length} of ${LAG_WRITES} writes`);
    acks.sort((x, y) => x - y);

    progress(`${engine}: the transport alone, for comparison`);
    for (let i = 0; i < LAG_WRITES; i++) {
      await transport.publish('nova.bench.raw', String(wall()));
      if (i % 10 === 0) await pause(1);
    }
    await pause(200);
    const raw = (await ask(child)).raw.sort((x, y) => x - y);

    progress(`${engine}: throughput for ${THROUGHPUT_MS} ms with ${IN_FLIGHT} writes in flight`);
    let written = 0;
    const end = performance.now() + THROUGHPUT_MS;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        const id = generateSessionId();
        for (let i = 0; performance.now() < end; i++) {
          await a.setValue(id, `k${i % 8}`, i);
          written++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    await pause(300);
    const { applied } = await ask(child);
    return {
      engine,
      p50: percentile(lags, 50),
      p99: percentile(lags, 99),
      max: lags[lags.length - 1]!,
      ackP50: percentile(acks, 50),
      ackP99: percentile(acks, 99),
      rawP50: percentile(raw, 50),
      rawP99: percentile(raw, 99),
      writes: written / seconds,
      applied: applied / seconds,
    };
  } finally {
    await a.stop();
    child.send('stop');
    await once(child, 'exit');
  }
}

const rows: Row[] = [];
rows.push(await run('redis', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'));
rows.push(await run('nats', process.env.NATS_URL ?? 'nats://127.0.0.1:4222'));

const ms = (n: number) => n.toFixed(2);
const table = [
  '| transport | lag p50 | lag p99 | lag max | transport alone p50 / p99 | write ack p50 / p99 | acknowledged writes/s (32 in flight) | applied on B /s |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.engine} | ${ms(r.p50)} ms | **${ms(r.p99)} ms** | ${ms(r.max)} ms | ${ms(r.rawP50)} / ${ms(r.rawP99)} ms | ${ms(r.ackP50)} / ${ms(r.ackP99)} ms | ${fmt(r.writes)} | ${fmt(r.applied)} |`,
  ),
].join('\n');
console.log(table);
recordSection(
  'replication',
  `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:replication\` (Node ${process.version}, ${LAG_WRITES} lag writes after ${WARMUP_WRITES} warm-up writes, ${THROUGHPUT_MS / 1000} s of throughput per transport, node A and node B in two processes on the same 2-core machine, local Redis and NATS):\n\n${table}`,
);
