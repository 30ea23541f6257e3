// `npm run bench`: req/s of a JSON route through the whole Nova.ts pipeline against bare node:http
// answering the same bytes, measured side by side in one run (rounds alternate to share noise).
import { fmt, load, median, progress, recordSection, startTarget } from './harness.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const targets = [
  { name: 'bare node:http', script: 'bare-json' },
  { name: 'Nova.ts pipeline', script: 'nova-json' },
] as const;

const samples = new Map<string, number[]>(targets.map((t) => [t.name, []]));
for (let round = 1; round <= ROUNDS; round += 1) {
  for (const t of targets) {
    const target = await startTarget(t.script);
    try {
      const url = `http://127.0.0.1:${target.port}/json`;
      await load({ url, seconds: 1 }); // warm up the JIT
      const rps = await load({ url, seconds: SECONDS });
      samples.get(t.name)!.push(rps);
      progress(`round ${round}/${ROUNDS} ${t.name}: ${fmt(rps)} req/s`);
    } finally {
      await target.stop();
    }
  }
}

const bare = median(samples.get('bare node:http')!);
const rows = targets.map((t) => {
  const m = median(samples.get(t.name)!);
  return `| ${t.name} | ${fmt(m)} | ${((m / bare) * 100).toFixed(1)}% |`;
});
const ratio = median(samples.get('Nova.ts pipeline')!) / bare;
const table = [
  `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench\` (${ROUNDS} alternating rounds of ${SECONDS} s, 50 connections, median req/s; Node ${process.version}, ${(await import('node:os')).cpus().length} cores).`,
  '',
  '| server | req/s | of bare node:http |',
  '|---|---:|---:|',
  ...rows,
  '',
  `Target: the pipeline keeps at least 85% of bare node:http — **${ratio >= 0.85 ? 'met' : 'NOT met'}** (${(ratio * 100).toFixed(1)}%).`,
].join('\n');
console.log(table);
if (process.env.BENCH_RECORD !== '0') recordSection('pipeline', table);
