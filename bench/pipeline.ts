// `npm run bench`: a JSON route through the whole Nova.ts pipeline against bare node:http
// answering the same bytes, measured side by side in one run (rounds alternate to share noise).
import { cpus } from 'node:os';
import { requireLoadTool, fmt, loadTarget, median, progress, recordSection, startTarget } from './harness.js';

requireLoadTool();

// Five rounds: on a shared 2-core machine single rounds swing by a third; the median of five holds.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const targets = [
  { name: 'bare node:http', script: 'bare-json' },
  { name: 'Nova.ts pipeline', script: 'nova-json' },
] as const;

const JSON_ROUTE = [{ path: '/json' }];
const rps = new Map<string, number[]>(targets.map((t) => [t.name, []]));
const cpu = new Map<string, number[]>(targets.map((t) => [t.name, []]));
for (let round = 1; round <= ROUNDS; round += 1) {
  for (const t of targets) {
    const target = await startTarget(t.script);
    try {
      await loadTarget(target, { requests: JSON_ROUTE, seconds: 1 }); // warm up the JIT
      const r = await loadTarget(target, { requests: JSON_ROUTE, seconds: SECONDS });
      rps.get(t.name)!.push(r.rps);
      cpu.get(t.name)!.push(r.cpuPerRequest);
      progress(`round ${round}/${ROUNDS} ${t.name}: ${fmt(r.rps)} req/s, ${r.cpuPerRequest.toFixed(1)} µs CPU/request`);
    } finally {
      await target.stop();
    }
  }
}

const bareRps = median(rps.get('bare node:http')!);
const bareCpu = median(cpu.get('bare node:http')!);
const novaRps = median(rps.get('Nova.ts pipeline')!);
const novaCpu = median(cpu.get('Nova.ts pipeline')!);
const rows = targets.map((t) => {
  const r = median(rps.get(t.name)!);
  const c = median(cpu.get(t.name)!);
  return `| ${t.name} | ${fmt(r)} | ${((r / bareRps) * 100).toFixed(1)}% | ${c.toFixed(1)} | ${((bareCpu / c) * 100).toFixed(1)}% |`;
});
const ratio = novaRps / bareRps;
const table = [
  `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench\`: ${ROUNDS} alternating rounds of ${SECONDS} s, wrk (one thread) with 50 connections × 10 pipelined requests, medians; Node ${process.version}, ${cpus().length} cores (load tool on one, server on the other).`,
  '',
  '| server | req/s | req/s vs bare | server CPU µs/request | capacity vs bare (CPU) |',
  '|---|---:|---:|---:|---:|',
  ...rows,
  '',
  `Target: the pipeline keeps at least 85% of bare node:http throughput — **${ratio >= 0.85 ? 'met' : 'NOT met'}**: ${(ratio * 100).toFixed(1)}% of req/s, ${((bareCpu / novaCpu) * 100).toFixed(1)}% by server CPU per request.`,
  '',
  `Per round, Nova.ts req/s ÷ bare node:http: ${rps
    .get('Nova.ts pipeline')!
    .map((r, i) => (r / rps.get('bare node:http')![i]!).toFixed(2))
    .join(', ')}.`,
].join('\n');
console.log(table);
if (process.env.BENCH_RECORD !== '0') recordSection('pipeline', table);
