/**
 * How long the memory store's sweeper holds the event loop when a million sessions expire at the
 * same instant (the worst case: the store's clock is moved forward, so every one is due at once).
 *
 * Run: `npx tsc -p tsconfig.json && node --expose-gc dist/bench/sweep.js [sessions]`
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { generateSessionId } from '../src/session/id.js';
import { memoryStore } from '../src/session/stores/memory.js';

const N = Number(process.argv[2] ?? 1_000_000);
const ABSOLUTE_MS = 60 * 60_000;
let skew = 0;

const store = memoryStore();
await store.start({
  idleTimeoutMs: ABSOLUTE_MS,
  absoluteTimeoutMs: ABSOLUTE_MS,
  touchIntervalMs: 60_000,
  maxSessionBytes: 4096,
  maxSessions: N,
  now: () => Date.now() + skew,
});

const tick = () => new Promise((resolve) => setImmediate(resolve));
const ms = (ns: number) => (ns / 1e6).toFixed(2);

/** Event-loop stall while `done()` is false: histogram plus a 1 ms interval gap probe. */
async function measure(label: string, done: () => boolean): Promise<void> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let maxGap = 0;
  let last = performance.now();
  const started = last;
  histogram.enable();
  await new Promise<void>((resolve) => {
    const probe = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      if (done()) {
        clearInterval(probe);
        resolve();
      }
    }, 1);
  });
  histogram.disable();
  console.log(
    `${label.padEnd(34)} took ${(performance.now() - started).toFixed(0).padStart(5)} ms | ` +
      `loop delay max ${ms(histogram.max)} ms, p99 ${ms(histogram.percentile(99))} ms, mean ${ms(histogram.mean)} ms | ` +
      `1 ms probe: max gap ${maxGap.toFixed(2)} ms (stall ≈ ${(maxGap - 1).toFixed(2)} ms)`,
  );
}

/** The VM's own scheduling noise: the longest gap seen by a busy loop, with no event loop involved. */
function schedulingNoise(durationMs: number): number {
  const end = performance.now() + durationMs;
  let last = performance.now();
  let worst = 0;
  while (last < end) {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }
  return worst;
}

const createStart = performance.now();
for (let i = 0; i < N; i++) {
  await store.setValue(generateSessionId(), 'user', { id: i, name: 'someone' });
  if (i % 10_000 === 0) await tick(); // let timers run: resolved awaits alone never yield
}
console.log(
  `created ${store.liveSessions} sessions in ${(performance.now() - createStart).toFixed(0)} ms; ` +
    `heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MB`,
);
(globalThis as { gc?: () => void }).gc?.();

console.log(`scheduling noise: longest gap in a 1 s busy loop ${schedulingNoise(1000).toFixed(2)} ms (the floor for any stall below)`);
const baselineEnd = performance.now() + 2000;
await measure('baseline (1M live, nothing due)', () => performance.now() >= baselineEnd);

skew += ABSOLUTE_MS; // every session is now past its absolute deadline
await measure('expiry: sessions -> tombstones', () => store.liveSessions === 0);
skew += ABSOLUTE_MS; // every tombstone is now past its lifetime
await measure('removal: tombstones -> empty', () => store.size === 0);
console.log(`store empty: size ${store.size}; heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MB`);
await store.stop();
