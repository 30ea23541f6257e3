// `npm run build && node dist/bench/read-split.js`: where a session read's cost goes. One Nova.ts
// session server, 10,000 logged-in cookies, and in turn GET /profile (cookie check + store read,
// an async controller) and GET /heartbeat (the same cookie check, a synchronous controller).
// PIPELINING=1 shows the cost without HTTP pipelining, which browsers do not use and which
// penalises every asynchronous handler: Node queues responses that finish out of turn.
import { Agent, request } from 'node:http';
import { requireLoadTool, loadTarget, progress, startTarget } from './harness.js';

requireLoadTool();

const PIPELINING = Number(process.env.PIPELINING ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const SESSIONS = 10_000;

const target = await startTarget('nova-session', { SESSION_SECRET: 'bench-secret-bench-secret-bench-secret-0123' });
try {
  const agent = new Agent({ keepAlive: true, maxSockets: 50 });
  const login = (user: string) =>
    new Promise<string>((resolve, reject) => {
      const body = `username=${user}&password=password`;
      const req = request(
        {
          host: '127.0.0.1',
          port: target.port,
          agent,
          method: 'POST',
          path: '/login',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve((res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!).find((c) => c.startsWith('session_id='))!));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const cookies: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < SESSIONS) {
        const i = next++;
        cookies[i] = await login(`user${i}`);
      }
    }),
  );
  agent.destroy();
  const requests = (path: string) => cookies.map((cookie) => ({ path, headers: { cookie } }));
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const path of ['/profile', '/heartbeat']) {
      const r = await loadTarget(target, { seconds: SECONDS, requests: requests(path), pipelining: PIPELINING });
      progress(`round ${round}/${ROUNDS} pipelining ${PIPELINING} ${path}: ${Math.round(r.rps)} req/s, ${r.cpuPerRequest.toFixed(1)} µs CPU/request`);
    }
  }
} finally {
  await target.stop();
}
