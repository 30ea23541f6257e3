// `npm run bench:sessions`: the login example's two session routes — a session read (GET /profile
// cycling over every logged-in session) and a login (POST /login: check the form, regenerate the
// id, write the username, 302) — on Nova.ts, express + express-session and fastify +
// @fastify/session (each with its recommended options and in-memory store), plus bare node:http
// answering /profile with the same bytes and no session work. At each size of the session-count
// axis (BENCH_SESSIONS, default 10k, 100k and 1M) the servers that run at that size are up at
// once and loaded in turn, slice by slice, with the heap each server holds per stored session.
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { startRedisCluster } from '../test/helpers/redis-cluster.js';
import { fmt, loadTarget, median, pinnedToCores, progress, recordSection, requireLoadTool, startTarget, type LoadRequest, type Target } from './harness.js';

requireLoadTool();

// Many short slices per server, interleaved: on a shared 2-core machine a single 5 s window can
// swing by half; fifteen 1 s slices each, taken in turn, average the noise over every server.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
// The session-count axis: the whole comparison is run once per size, each with fresh servers.
// The Redis comparison keeps to one size (its servers hold no sessions in their heaps).
const SIZES = (process.env.BENCH_SESSIONS ?? (process.env.BENCH_STORE === 'redis' ? '10000' : '10000,100000,1000000'))
  .split(',')
  .map((n) => Number(n.trim().replaceAll('_', '')))
  .filter((n) => Number.isInteger(n) && n > 0);
// The peers log in at a few thousand a second and take over 1 KB of heap per session (fastify):
// past this many sessions they are left out (BENCH_PEERS_MAX raises it).
const PEERS_MAX = Number(process.env.BENCH_PEERS_MAX ?? 100_000);
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
  /** Run at every size (bare and Nova.ts), or only up to PEERS_MAX sessions. */
  readonly always: boolean;
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
// BENCH_COMPARE=<another checkout, built>: its Nova.ts target runs as one more column, sized and
// loaded like this one's, so a change is measured against the code before it in the same run.
const COMPARE = process.env.BENCH_COMPARE ? resolve(process.env.BENCH_COMPARE, 'dist/bench/targets/nova-session.js') : undefined;
const NOVA_COMPARE = 'Nova.ts (BENCH_COMPARE)';
const isNova = (name: string) => name === NOVA || name === NOVA_COMPARE;
const compared: readonly TargetSpec[] = COMPARE ? [{ name: NOVA_COMPARE, script: COMPARE, cookie: 'session_id', sessions: true, always: true }] : [];
const targets: readonly TargetSpec[] = REDIS
  ? [
      { name: NOVA, script: 'nova-session', cookie: 'session_id', sessions: true, always: true },
      { name: CONNECT_REDIS, script: 'express-session', cookie: 'connect.sid', sessions: true, always: true },
      ...(CLUSTER_URL ? [{ name: NOVA_CLUSTER, script: 'nova-session', cookie: 'session_id', sessions: true, always: true, redisUrl: CLUSTER_URL }] : []),
    ]
  : [
      { name: NOVA, script: 'nova-session', cookie: 'session_id', sessions: true, always: true },
      ...compared,
      { name: EXPRESS, script: 'express-session', cookie: 'connect.sid', sessions: true, always: false },
      { name: FASTIFY, script: 'fastify-session', cookie: 'sessionId', sessions: true, always: false },
      { name: BARE, script: 'bare-session', cookie: 'session_id', sessions: false, always: true },
    ];
const targetsAt = (size: number) => targets.filter((t) => t.always || size <= PEERS_MAX);

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
  readP99: number[];
  loginRps: number[];
  loginCpu: number[];
  heapPerSession: number[];
}
/** Figures per size, then per server. */
const figures = new Map<number, Map<string, Figures>>();
const figuresOf = (size: number, name: string): Figures => {
  let bySize = figures.get(size);
  if (bySize === undefined) figures.set(size, (bySize = new Map()));
  let f = bySize.get(name);
  if (f === undefined) bySize.set(name, (f = { readRps: [], readCpu: [], readP99: [], loginRps: [], loginCpu: [], heapPerSession: [] }));
  return f;
};

interface Running {
  readonly spec: TargetSpec;
  readonly target: Target;
  readonly reads: LoadRequest[];
  readonly cookies: readonly string[];
}

/**
 * What a user holding `size` sessions in one process would configure on the Nova.ts target: room
 * for them and for the logins the benchmark adds (`maxSessions`), a memory budget to match
 * (`maxStoreBytes`, ~1 KB a session against the ~300 B one takes), and a V8 heap big enough for
 * that budget. Below the defaults (1,000,000 sessions, a quarter of the heap) nothing changes.
 */
function novaSizing(size: number): { env: Record<string, string>; nodeArgs: string[] } {
  const maxSessions = Math.max(1_000_000, 3 * size);
  if (maxSessions === 1_000_000) return { env: {}, nodeArgs: [] };
  const maxStoreBytes = maxSessions * 1024;
  return {
    env: { BENCH_MAX_SESSIONS: String(maxSessions), BENCH_MAX_STORE_BYTES: String(maxStoreBytes) },
    nodeArgs: [`--max-old-space-size=${Math.ceil((2 * maxStoreBytes) / 2 ** 20)}`],
  };
}

/**
 * Start a target, log `size` users in (measuring the heap they add) and check they read back.
 * Bare node:http stores nothing and checks no cookie: it is sent the Nova.ts cookies (`reuse`),
 * the same header bytes, without logging a million users into a server that keeps none of them.
 */
async function setUp(t: TargetSpec, size: number, reuse?: readonly string[]): Promise<Running> {
  const sizing = isNova(t.name) && !REDIS ? novaSizing(size) : { env: {}, nodeArgs: [] };
  const target = await startTarget(
    t.script,
    { SESSION_SECRET: SECRET, ...(REDIS ? { SESSION_REDIS_URL: t.redisUrl ?? REDIS } : {}), ...sizing.env },
    sizing.nodeArgs,
  );
  // Warm up the login path (these sessions stay in the baseline), then measure the heap the
  // next `size` logins add.
  await loginMany(target.port, t.cookie, 10_000_000, 1_000);
  const heapBefore = await target.heap();
  const started = Date.now();
  const cookies = reuse ?? (await loginMany(target.port, t.cookie, 0, size));
  const loginSeconds = (Date.now() - started) / 1000;
  const perSession = ((await target.heap()) - heapBefore) / size;
  if (t.sessions) figuresOf(size, t.name).heapPerSession.push(perSession);
  for (const i of [0, size >> 1, size - 1]) {
    const r = await profile(target.port, cookies[i]!);
    const expected = t.sessions ? JSON.stringify({ username: `user${i}` }) : JSON.stringify({ username: 'user0' });
    if (r.status !== 200 || r.body !== expected) throw new Error(`${t.name}: GET /profile for user${i} answered ${r.status} ${r.body}`);
  }
  // Every logged-in cookie in turn, across the 50 connections.
  const reads: LoadRequest[] = cookies.map((cookie) => ({ path: '/profile', headers: { cookie } }));
  await loadTarget(target, { requests: reads, seconds: 1 }); // warm up the JIT
  progress(
    reuse
      ? `${t.name}: up, reading with the Nova.ts cookies`
      : `${t.name}: ${fmt(size)} logins in ${loginSeconds.toFixed(1)} s${t.sessions ? `, ${fmt(perSession)} heap bytes/session` : ''}`,
  );
  return { spec: t, target, reads, cookies };
}

// Logins without a cookie, as a browser arriving at the login form; each one stores a session.
const loginLoad: LoadRequest[] = [
  { path: '/login', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: loginBody('bench') },
];

/** One size: every server it runs up at once, reads then logins in interleaved slices, then stopped. */
async function runSize(size: number): Promise<void> {
  const running: Running[] = [];
  try {
    for (const t of targetsAt(size)) {
      const nova = running.find((r) => r.spec.name === NOVA);
      running.push(await setUp(t, size, t.name === BARE ? nova?.cookies : undefined));
    }
    // Every server stays up and gets a short slice in turn, so a burst of noise from the machine
    // lands on all of them alike instead of deciding one server's whole figure.
    for (const r of running) await r.target.profile('start');
    for (let round = 1; round <= ROUNDS; round += 1) {
      const line: string[] = [];
      for (const r of running) {
        const read = await loadTarget(r.target, { requests: r.reads, seconds: SECONDS });
        const f = figuresOf(size, r.spec.name);
        f.readRps.push(read.rps);
        f.readCpu.push(read.cpuPerRequest);
        f.readP99.push(read.p99);
        line.push(`${r.spec.name} ${fmt(read.rps)} (p99 ${ms(read.p99)})`);
      }
      progress(`${fmt(size)} sessions, read slice ${round}/${ROUNDS}: ${line.join(', ')} req/s`);
    }
    for (const r of running) await r.target.profile('stop');
    // Logins after the reads: they grow the stores, which must not weigh on the read figures.
    for (let round = 1; round <= ROUNDS; round += 1) {
      const line: string[] = [];
      for (const r of running.filter((x) => x.spec.sessions)) {
        const logins = await loadTarget(r.target, { requests: loginLoad, seconds: SECONDS });
        figuresOf(size, r.spec.name).loginRps.push(logins.rps);
        figuresOf(size, r.spec.name).loginCpu.push(logins.cpuPerRequest);
        line.push(`${r.spec.name} ${fmt(logins.rps)}`);
      }
      progress(`${fmt(size)} sessions, login slice ${round}/${ROUNDS}: ${line.join(', ')} req/s`);
    }
  } finally {
    for (const r of running) await r.target.stop();
  }
}

const loadBefore = loadavg()[0]!;
try {
  for (const size of SIZES) await runSize(size);
} finally {
  localCluster?.stop();
}
const loadAfter = loadavg()[0]!;

/** The median of one figure; NaN when that server did not run at that size. */
const m = (size: number, name: string, key: keyof Figures) => {
  const values = figures.get(size)?.get(name)?.[key] ?? [];
  return values.length === 0 ? Number.NaN : median(values);
};
const ran = (size: number, name: string) => figures.get(size)?.has(name) === true;
const pinning = pinnedToCores ? 'each server pinned to core 0 (`taskset -c 0`, its GC threads included), wrk to core 1' : 'not pinned to cores (no taskset)';
if (REDIS) {
  redisReport(SIZES[0]!);
} else {
  memoryReport();
}

function redisReport(size: number): void {
  const mm = (name: string, key: keyof Figures) => m(size, name, key);
  const peerRead = mm(CONNECT_REDIS, 'readRps');
  const novaRead = mm(NOVA, 'readRps');
  const rows = targets.map((t) => {
    const read = mm(t.name, 'readRps');
    const login = mm(t.name, 'loginRps');
    return `| ${t.name} | ${fmt(read)} | ${(read / peerRead).toFixed(2)}× | ${mm(t.name, 'readCpu').toFixed(1)} | ${ms(mm(t.name, 'readP99'))} | ${fmt(login)} | ${(login / mm(CONNECT_REDIS, 'loginRps')).toFixed(2)}× | ${mm(t.name, 'loginCpu').toFixed(1)} |`;
  });
  const ratio = novaRead / peerRead;
  const table = [
    `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:sessions:redis\`${CLUSTER_URL ? ` (BENCH_REDIS_CLUSTER=${localCluster ? '1: a local cluster of 3 masters + 3 replicas' : 'a cluster URL'})` : ''}: the servers on the same local Redis${CLUSTER_URL ? ` (${NOVA_CLUSTER}: on the cluster)` : ''}, up at once and loaded in turn, ${ROUNDS} slices of ${SECONDS} s each per server and route, wrk (one thread) with 50 connections × 10 pipelined requests, medians over the slices, ${fmt(size)} sessions; ${pinning}; Node ${process.version}, ${cpus().length} cores shared by the load tool, the servers and Redis; 1-minute load average ${loadBefore.toFixed(2)} before the run, ${loadAfter.toFixed(2)} after.`,
    '',
    '| server | read req/s | read vs connect-redis | read CPU µs/request | read p99 | login req/s | login vs connect-redis | login CPU µs/request |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Target for Nova.ts: at least 2× express-session + connect-redis on the read — ${ratio >= 2 ? '**met**' : '**NOT met**'} (${ratio.toFixed(2)}×; ${(mm(CONNECT_REDIS, 'readCpu') / mm(NOVA, 'readCpu')).toFixed(2)}× by server CPU per request).`,
    '',
    `Per slice, Nova.ts read req/s ÷ connect-redis: ${perSlice(size, CONNECT_REDIS)}.`,
  ].join('\n');
  console.log(table);
  if (process.env.BENCH_RECORD !== '0') recordSection('sessions-redis', table);
}

/** Microseconds as milliseconds, for the p99 column. */
function ms(us: number): string {
  return Number.isNaN(us) ? '—' : `${(us / 1000).toFixed(1)} ms`;
}

/** Nova.ts read req/s ÷ `other`'s, slice by slice (servers run back to back): how much of a ratio is noise. */
function perSlice(size: number, other: string): string {
  const nova = figuresOf(size, NOVA).readRps;
  return nova.map((r, i) => (r / figuresOf(size, other).readRps[i]!).toFixed(2)).join(', ');
}

function memoryReport(): void {
  const verdict = (ok: boolean) => (ok ? '**met**' : '**NOT met**');
  const rows: string[] = [];
  for (const size of SIZES) {
    const bareRead = m(size, BARE, 'readRps');
    const fastifyLogin = m(size, FASTIFY, 'loginRps');
    for (const t of targets) {
      if (!ran(size, t.name)) {
        rows.push(`| ${fmt(size)} | ${t.name} | not run: over ${fmt(PEERS_MAX)} sessions (\`BENCH_PEERS_MAX\`) | | | | | | |`);
        continue;
      }
      const read = m(size, t.name, 'readRps');
      const cells = [fmt(size), t.name, fmt(read), `${(read / bareRead).toFixed(2)}×`, m(size, t.name, 'readCpu').toFixed(1), ms(m(size, t.name, 'readP99'))];
      if (t.sessions) {
        const login = m(size, t.name, 'loginRps');
        cells.push(fmt(login), Number.isNaN(fastifyLogin) ? '—' : `${(login / fastifyLogin).toFixed(2)}×`, fmt(m(size, t.name, 'heapPerSession')));
      } else {
        cells.push('—', '—', '—');
      }
      rows.push(`| ${cells.join(' | ')} |`);
    }
  }

  // The issue's targets, on the sizes this run covered.
  const small = SIZES[0]!;
  const large = SIZES.at(-1)!;
  const vsBare = (size: number) => m(size, NOVA, 'readRps') / m(size, BARE, 'readRps');
  const heap = (size: number, name: string) => m(size, name, 'heapPerSession');
  const peerHeaps = SIZES.flatMap((size) =>
    [EXPRESS, FASTIFY].filter((p) => ran(size, p)).map((p) => ({ size, peer: p, nova: heap(size, NOVA), other: heap(size, p) })),
  );
  const targetsLine = [
    `at least 0.7× bare node:http on the read at ${fmt(large)} sessions — ${verdict(vsBare(large) >= 0.7)} (${vsBare(large).toFixed(2)}×)`,
    `at least 0.8× at ${fmt(small)} — ${verdict(vsBare(small) >= 0.8)} (${vsBare(small).toFixed(2)}×)`,
    `heap per session no higher at ${fmt(large)} than at ${fmt(small)} — ${verdict(heap(large, NOVA) <= heap(small, NOVA))} (${fmt(heap(large, NOVA))} B vs ${fmt(heap(small, NOVA))} B)`,
    peerHeaps.length === 0
      ? 'less heap per session than either peer — not measured (no peer ran)'
      : `less heap per session than either peer — ${verdict(peerHeaps.every((h) => h.nova < h.other))} (${peerHeaps.map((h) => `${fmt(h.nova)} B vs ${fmt(h.other)} B ${h.peer} at ${fmt(h.size)}`).join('; ')})`,
    `p99 at ${fmt(large)} within 2× of ${fmt(small)} — ${verdict(m(large, NOVA, 'readP99') <= 2 * m(small, NOVA, 'readP99'))} (${ms(m(large, NOVA, 'readP99'))} vs ${ms(m(small, NOVA, 'readP99'))})`,
  ];
  const slices = SIZES.map((size) => `at ${fmt(size)}: ${perSlice(size, BARE)}`);
  const comparison = COMPARE
    ? SIZES.map((size) => {
        const cpu = (name: string) => figuresOf(size, name).readCpu;
        const each = cpu(NOVA).map((c, i) => (c / cpu(NOVA_COMPARE)[i]!).toFixed(2));
        return `at ${fmt(size)}: ${each.join(', ')} (median ${median(each.map(Number)).toFixed(2)})`;
      })
    : [];
  const table = [
    `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:sessions\`: at each size the servers are started fresh, log their users in, and are loaded in turn, ${ROUNDS} slices of ${SECONDS} s each per server and route, wrk (one thread, \`--latency\`) with 50 connections × 10 pipelined requests, medians over the slices; ${pinning}; Node ${process.version}, ${cpus().length} cores; 1-minute load average ${loadBefore.toFixed(2)} before the run, ${loadAfter.toFixed(2)} after.`,
    `Reads cycle over every session logged in just before; logins arrive without a cookie and each stores a new session. Heap bytes/session: heap after a full GC, before and after those logins, divided by their number. p99: wrk's 99th percentile latency of a batch of 10 pipelined requests. Nova.ts runs with \`maxSessions\` at 3× the size (at least the default 1,000,000), \`maxStoreBytes\` at 1 KiB per allowed session and a V8 heap twice that; bare node:http is sent the Nova.ts cookies.`,
    '',
    '| sessions | server | read req/s | read vs bare | read CPU µs/request | read p99 | login req/s | login vs @fastify/session | heap bytes/session |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Targets for Nova.ts: ${targetsLine.join('; ')}.`,
    '',
    `Per slice, Nova.ts read req/s ÷ bare node:http ${slices.join('; ')}.`,
    ...(COMPARE ? ['', `Per slice, Nova.ts read CPU µs/request ÷ ${NOVA_COMPARE}'s ${comparison.join('; ')}.`] : []),
  ].join('\n');
  console.log(table);
  if (process.env.BENCH_RECORD !== '0') recordSection('sessions', table);
}
