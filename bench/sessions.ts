// `npm run bench:sessions`: the login example's two session routes — a session read (GET /profile
// cycling over 10,000 logged-in sessions) and a login (POST /login: check the form, regenerate the
// id, write the username, 302) — on Nova.ts, express + express-session and fastify +
// @fastify/session (each with its recommended options and in-memory store), plus bare node:http
// answering /profile with the same bytes and no session work. All four run at once and are
// loaded in turn, slice by slice, with the heap each server holds per stored session.
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { startRedisCluster } from '../test/helpers/redis-cluster.js';
import { fmt, requireLoadTool, loadTarget, median, progress, recordSection, startTarget, type LoadRequest, type Target } from './harness.js';

requireLoadTool();

// Many short slices per server, interleaved: on a shared 2-core machine a single 5 s window can
// swing by half; fifteen 1 s slices each, taken in turn, average the noise over every server.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000);
const LOGIN_CONCURRENCY = 50;
const SECRET = 'bench-secret-bench-secret-bench-secret-0123';

interface TargetSpec {
  readonly name: string;
  readonly script: string;
  readonly cookie: string;
  /** false for the bare ceiling: it stores nothing, so only its read figure means anything. */
  readonly sessions: boolean;
  /** The Redis it stores sessions in, when not REDIS (the cluster column). */
  readonly redisUrl?: string;
}
const NOVA = 'Nova.ts';
const EXPRESS = 'express-session';
const FASTIFY = '@fastify/session';
const BARE = 'bare node:http';
// BENCH_STORE=redis compares the Redis stores instead: Nova.ts's own against express-session with
// connect-redis, both on the same Redis (REDIS_URL, default the local one).
const REDIS = process.env.BENCH_STORE === 'redis' ? (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') : undefined;
const CONNECT_REDIS = 'express-session + connect-redis';
// BENCH_REDIS_CLUSTER=1 adds a column: Nova.ts's Redis store on a local Redis Cluster (three
// masters with a replica each, started for the run and stopped after); or set it to a
// redis+cluster://host:port,… URL to use a cluster of your own.
const NOVA_CLUSTER = 'Nova.ts on Redis Cluster';
const CLUSTER_SPEC = REDIS ? process.env.BENCH_REDIS_CLUSTER : undefined;
const localCluster = CLUSTER_SPEC === '1' ? await startRedisCluster() : undefined;
const CLUSTER_URL = localCluster?.url ?? (CLUSTER_SPEC?.includes('://') ? CLUSTER_SPEC : undefined);
const targets: readonly TargetSpec[] = REDIS
  ? [
      { name: NOVA, script: 'nova-session', cookie: 'session_id', sessions: true },
      { name: CONNECT_REDIS, script: 'express-session', cookie: 'connect.sid', sessions: true },
      ...(CLUSTER_URL ? [{ name: NOVA_CLUSTER, script: 'nova-session', cookie: 'session_id', sessions: true, redisUrl: CLUSTER_URL }] : []),
    ]
  : [
      { name: NOVA, script: 'nova-session', cookie: 'session_id', sessions: true },
      { name: EXPRESS, script: 'express-session', cookie: 'connect.sid', sessions: true },
      { name: FASTIFY, script: 'fastify-session', cookie: 'sessionId', sessions: true },
      { name: BARE, script: 'bare-session', cookie: 'session_id', sessions: false },
    ];

const loginBody = (user: string) => `username=${user}&password=password`;

/** POST /login once; resolves to the `name=value` of the last session cookie set, checking the 302. */
function login(port: number, agent: Agent, user: string, cookieName: string): Promise<string> {
  const body = loginBody(user);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        agent,
        method: 'POST',
        path: '/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const cookies = (res.headers['set-cookie'] ?? []).map((c) => c.split(';', 1)[0]!).filter((c) => c.startsWith(`${cookieName}=`));
          const cookie = cookies.at(-1);
          if (res.statusCode !== 302 || cookie === undefined)
            reject(new Error(`login ${user}: status ${res.statusCode}, cookies ${JSON.stringify(res.headers['set-cookie'])}`));
          else resolve(cookie);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Log in `count` users (`user<from>`…), `LOGIN_CONCURRENCY` at a time; returns their cookies in order. */
async function loginMany(port: number, cookieName: string, from: number, count: number): Promise<string[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: LOGIN_CONCURRENCY });
  const cookies = new Array<string>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      cookies[i] = await login(port, agent, `user${from + i}`, cookieName);
    }
  };
  try {
    await Promise.all(Array.from({ length: LOGIN_CONCURRENCY }, worker));
  } finally {
    agent.destroy();
  }
  return cookies;
}

/** GET /profile with one cookie: the status and body (a check that the session really reads). */
function profile(port: number, cookie: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/profile', headers: { cookie } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Figures {
  readRps: number[];
  readCpu: number[];
  loginRps: number[];
  loginCpu: number[];
  heapPerSession: number[];
}
const figures = new Map<string, Figures>(targets.map((t) => [t.name, { readRps: [], readCpu: [], loginRps: [], loginCpu: [], heapPerSession: [] }]));

interface Running {
  readonly spec: TargetSpec;
  readonly target: Target;
  readonly reads: LoadRequest[];
}

/** Start a target, log SESSIONS users in (measuring the heap they add) and check they read back. */
async function setUp(t: TargetSpec): Promise<Running> {
  const target = await startTarget(t.script, { SESSION_SECRET: SECRET, ...(REDIS ? { SESSION_REDIS_URL: t.redisUrl ?? REDIS } : {}) });
  // Warm up the login path (these sessions stay in the baseline), then measure the heap the
  // next SESSIONS logins add.
  await loginMany(target.port, t.cookie, 1_000_000, 1_000);
  const heapBefore = await target.heap();
  const started = Date.now();
  const cookies = await loginMany(target.port, t.cookie, 0, SESSIONS);
  const loginSeconds = (Date.now() - started) / 1000;
  const perSession = ((await target.heap()) - heapBefore) / SESSIONS;
  if (t.sessions) figures.get(t.name)!.heapPerSession.push(perSession);
  for (const i of [0, SESSIONS >> 1, SESSIONS - 1]) {
    const r = await profile(target.port, cookies[i]!);
    const expected = t.sessions ? JSON.stringify({ username: `user${i}` }) : JSON.stringify({ username: 'user0' });
    if (r.status !== 200 || r.body !== expected) throw new Error(`${t.name}: GET /profile for user${i} answered ${r.status} ${r.body}`);
  }
  // Every logged-in cookie in turn, across the 50 connections.
  const reads: LoadRequest[] = cookies.map((cookie) => ({ path: '/profile', headers: { cookie } }));
  await loadTarget(target, { requests: reads, seconds: 1 }); // warm up the JIT
  progress(`${t.name}: ${fmt(SESSIONS)} logins in ${loginSeconds.toFixed(1)} s${t.sessions ? `, ${fmt(perSession)} heap bytes/session` : ''}`);
  return { spec: t, target, reads };
}

// Logins without a cookie, as a browser arriving at the login form; each one stores a session.
const loginLoad: LoadRequest[] = [
  { path: '/login', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: loginBody('bench') },
];

const loadBefore = loadavg()[0]!;
const running: Running[] = [];
try {
  for (const t of targets) running.push(await setUp(t));
  // Every server stays up and gets a short slice in turn, so a burst of noise from the machine
  // lands on all of them alike instead of deciding one server's whole figure.
  for (let round = 1; round <= ROUNDS; round += 1) {
    const line: string[] = [];
    for (const r of running) {
      const read = await loadTarget(r.target, { requests: r.reads, seconds: SECONDS });
      figures.get(r.spec.name)!.readRps.push(read.rps);
      figures.get(r.spec.name)!.readCpu.push(read.cpuPerRequest);
      line.push(`${r.spec.name} ${fmt(read.rps)}`);
    }
    progress(`read slice ${round}/${ROUNDS}: ${line.join(', ')} req/s`);
  }
  // Logins after the reads: they grow the stores, which must not weigh on the read figures.
  for (let round = 1; round <= ROUNDS; round += 1) {
    const line: string[] = [];
    for (const r of running.filter((x) => x.spec.sessions)) {
      const logins = await loadTarget(r.target, { requests: loginLoad, seconds: SECONDS });
      figures.get(r.spec.name)!.loginRps.push(logins.rps);
      figures.get(r.spec.name)!.loginCpu.push(logins.cpuPerRequest);
      line.push(`${r.spec.name} ${fmt(logins.rps)}`);
    }
    progress(`login slice ${round}/${ROUNDS}: ${line.join(', ')} req/s`);
  }
} finally {
  for (const r of running) await r.target.stop();
  localCluster?.stop();
}
const loadAfter = loadavg()[0]!;

const m = (name: string, key: keyof Figures) => median(figures.get(name)![key]);
if (REDIS) {
  redisReport();
} else {
  memoryReport();
}

function redisReport(): void {
  const peerRead = m(CONNECT_REDIS, 'readRps');
  const novaRead = m(NOVA, 'readRps');
  const rows = targets.map((t) => {
    const read = m(t.name, 'readRps');
    const login = m(t.name, 'loginRps');
    return `| ${t.name} | ${fmt(read)} | ${(read / peerRead).toFixed(2)}× | ${m(t.name, 'readCpu').toFixed(1)} | ${fmt(login)} | ${(login / m(CONNECT_REDIS, 'loginRps')).toFixed(2)}× | ${m(t.name, 'loginCpu').toFixed(1)} |`;
  });
  const ratio = novaRead / peerRead;
  const table = [
    `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:sessions:redis\`${CLUSTER_URL ? ` (BENCH_REDIS_CLUSTER=${localCluster ? '1: a local cluster of 3 masters + 3 replicas' : 'a cluster URL'})` : ''}: the servers on the same local Redis${CLUSTER_URL ? ` (${NOVA_CLUSTER}: on the cluster)` : ''}, up at once and loaded in turn, ${ROUNDS} slices of ${SECONDS} s each per server and route, wrk (one thread) with 50 connections × 10 pipelined requests, medians over the slices; Node ${process.version}, ${cpus().length} cores shared by the load tool, the servers and Redis.`,
    '',
    '| server | read req/s | read vs connect-redis | read CPU µs/request | login req/s | login vs connect-redis | login CPU µs/request |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Target for Nova.ts: at least 2× express-session + connect-redis on the read — ${ratio >= 2 ? '**met**' : '**NOT met**'} (${ratio.toFixed(2)}×; ${(m(CONNECT_REDIS, 'readCpu') / m(NOVA, 'readCpu')).toFixed(2)}× by server CPU per request).`,
    '',
    `Per slice, Nova.ts read req/s ÷ connect-redis: ${figures
      .get(NOVA)!
      .readRps.map((r, i) => (r / figures.get(CONNECT_REDIS)!.readRps[i]!).toFixed(2))
      .join(', ')}.`,
  ].join('\n');
  console.log(table);
  if (process.env.BENCH_RECORD !== '0') recordSection('sessions-redis', table);
}

function memoryReport(): void {
  const fastifyRead = m(FASTIFY, 'readRps');
  const fastifyLogin = m(FASTIFY, 'loginRps');
  const bareRead = m(BARE, 'readRps');
  const rows = targets.map((t) => {
    const read = m(t.name, 'readRps');
    const readCpu = m(t.name, 'readCpu');
    const cells = [t.name, fmt(read), `${(read / fastifyRead).toFixed(2)}×`, `${((read / bareRead) * 100).toFixed(1)}%`, readCpu.toFixed(1)];
    if (t.sessions) {
      const loginRps = m(t.name, 'loginRps');
      cells.push(fmt(loginRps), `${(loginRps / fastifyLogin).toFixed(2)}×`, m(t.name, 'loginCpu').toFixed(1), fmt(m(t.name, 'heapPerSession')));
    } else {
      cells.push('—', '—', '—', '—');
    }
    return `| ${cells.join(' | ')} |`;
  });

  const novaRead = m(NOVA, 'readRps');
  const novaHeap = m(NOVA, 'heapPerSession');
  const expressHeap = m(EXPRESS, 'heapPerSession');
  const fastifyHeap = m(FASTIFY, 'heapPerSession');
  const verdict = (ok: boolean) => (ok ? '**met**' : '**NOT met**');
  const vsFastify = novaRead / fastifyRead;
  const vsBare = novaRead / bareRead;
  // Targets measured against servers run minutes apart are only as steady as the machine; the
  // ratio within each round (servers run back to back) shows how much of a verdict is noise.
  const perRound = (other: string) =>
    figures
      .get(NOVA)!
      .readRps.map((r, i) => (r / figures.get(other)!.readRps[i]!).toFixed(2))
      .join(', ');
  const table = [
    `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:sessions\`: all four servers up at once and loaded in turn, ${ROUNDS} slices of ${SECONDS} s each per server and route, wrk (one thread) with 50 connections × 10 pipelined requests, medians over the slices; Node ${process.version}, ${cpus().length} cores (load tool and server share them); 1-minute load average ${loadBefore.toFixed(2)} before the run, ${loadAfter.toFixed(2)} after.`,
    `Reads cycle over ${fmt(SESSIONS)} sessions logged in just before; logins arrive without a cookie and each stores a new session. Heap bytes/session: heap after a full GC, before and after those ${fmt(SESSIONS)} logins, divided by ${fmt(SESSIONS)}.`,
    '',
    '| server | read req/s | read vs @fastify/session | read vs bare | read CPU µs/request | login req/s | login vs @fastify/session | login CPU µs/request | heap bytes/session |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Targets for Nova.ts: at least 3× @fastify/session on the read — ${verdict(vsFastify >= 3)} (${vsFastify.toFixed(2)}×; ${(m(FASTIFY, 'readCpu') / m(NOVA, 'readCpu')).toFixed(2)}× by server CPU per request); ` +
      `at least 70% of bare node:http on the read — ${verdict(vsBare >= 0.7)} (${(vsBare * 100).toFixed(1)}%; ${((m(BARE, 'readCpu') / m(NOVA, 'readCpu')) * 100).toFixed(1)}% by server CPU per request); ` +
      `less heap per session than either peer — ${verdict(novaHeap < expressHeap && novaHeap < fastifyHeap)} (${fmt(novaHeap)} B vs ${fmt(expressHeap)} B express-session, ${fmt(fastifyHeap)} B @fastify/session).`,
    '',
    `Per slice, Nova.ts read req/s ÷ @fastify/session: ${perRound(FASTIFY)}; ÷ bare node:http: ${perRound(BARE)}.`,
  ].join('\n');
  console.log(table);
  if (process.env.BENCH_RECORD !== '0') recordSection('sessions', table);
}
