// Node B of the replication benchmark: a replicated store in its own process that reports, for
// every key written on node A, how long after A started the write it could read the value.
import { performance } from 'node:perf_hooks';
import { natsTransport, redisTransport, replicatedStore } from '../../src/index.js';

const url = process.env.BENCH_TRANSPORT_URL!;
const transport = url.startsWith('nats') ? natsTransport({ servers: url }) : redisTransport({ url });
const store = replicatedStore({ transport, secret: process.env.BENCH_SECRET!, cluster: 'bench', joinTimeoutMs: 200 });
await store.start({ idleTimeoutMs: 3_600_000, absoluteTimeoutMs: 7_200_000, touchIntervalMs: 600_000, maxSessionBytes: 4096, maxSessions: 10_000_000 });

const wall = () => performance.timeOrigin + performance.now();
let lags: number[] = [];
let raw: number[] = [];
let applied = 0;

// The floor: the transport alone, same processes, same pacing, no store and no signing.
await transport.subscribe('nova.bench.raw', (text) => raw.push(wall() - Number(text)));

// Subscribed after the store, so on this channel the store has applied a message before we see it.
await transport.subscribe('nova.bench.sessions', (text) => {
  const body = (JSON.parse(text.slice(44)) as { b: { ops?: unknown[][] } }).b;
  for (const op of body.ops ?? []) {
    if (op[0] !== 's') continue;
    applied++;
    if (op[2] === 't0') void store.getValue(op[1] as string, 't0').then((t0) => lags.push(wall() - (t0 as number)));
  }
});

process.on('message', (m: string) => {
  if (m === 'report') {
    process.send!({ lags, raw, applied });
    lags = [];
    raw = [];
    applied = 0;
  } else if (m === 'stop') {
    void store.stop().then(() => process.exit(0));
  }
});
process.send!({ ready: true });
