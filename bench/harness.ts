// Shared pieces of the benchmarks: run a target server in its own process, load it with wrk,
// and record results in bench/README.md between markers.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Target {
  readonly port: number;
  readonly proc: ChildProcess;
  /** The target's CPU time so far (user + system), in microseconds. */
  cpu(): Promise<number>;
  /** The target's heap after a full GC, in bytes. */
  heap(): Promise<number>;
  /** Start or stop a CPU profile of the target (written when BENCH_PROFILE names a directory). */
  profile(step: 'start' | 'stop'): Promise<void>;
  stop(): Promise<void>;
}

function ask(proc: ChildProcess, question: 'cpu' | 'heap' | 'profile-start' | 'profile-stop'): Promise<number> {
  return new Promise((resolve) => {
    proc.once('message', (msg: Record<string, number>) => resolve(msg[question.startsWith('profile') ? 'profile' : question]!));
    proc.send(question);
  });
}

// Servers on core 0, wrk on core 1 (BENCH_PIN=0 turns it off, as does a machine without taskset
// or with one core): pinned, a server's GC and libuv helper threads count against the server they
// serve instead of borrowing the load tool's core, and wrk never takes cycles from a server.
const PIN = process.env.BENCH_PIN !== '0' && spawnSync('taskset', ['-c', '0', 'true']).status === 0 && availableParallelism() >= 2;

/** `command args…`, run on `core` when pinning is on. */
function pinned(core: number, command: string, args: readonly string[]): [string, string[]] {
  return PIN ? ['taskset', ['-c', String(core), command, ...args]] : [command, [...args]];
}

/** Whether servers and the load tool run pinned to cores 0 and 1 (for the tables' captions). */
export const pinnedToCores = PIN;

/**
 * Start `bench/targets/<name>.js`, or the script at `name` when it is a path; it prints
 * `READY <port>` once it listens. `nodeArgs` go to node before the script (a profile:
 * `--cpu-prof`; a heap size); BENCH_NODE_ARGS adds to them.
 */
export async function startTarget(name: string, env: Record<string, string> = {}, nodeArgs: readonly string[] = []): Promise<Target> {
  // A path (BENCH_COMPARE's target in another checkout) or a name under bench/targets.
  const script = name.includes('/') ? name : fileURLToPath(new URL(`./targets/${name}.js`, import.meta.url));
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const [command, args] = pinned(0, process.execPath, ['--expose-gc', ...nodeArgs, ...extra, script]);
  const proc = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  // BENCH_TEE=<dir>: keep what each target prints (with BENCH_NODE_ARGS=--trace-gc, its collections).
  const tee = process.env.BENCH_TEE ? createWriteStream(join(process.env.BENCH_TEE, `${basename(name, '.js')}-${proc.pid}.log`)) : undefined;
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      tee?.write(d);
      out += d.toString();
      const m = out.match(/READY (\d+)/);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`target ${name} exited with ${code} before it was ready`)));
  });
  return {
    port,
    proc,
    cpu: () => ask(proc, 'cpu'),
    heap: () => ask(proc, 'heap'),
    profile: async (step) => {
      if (process.env.BENCH_PROFILE) await ask(proc, `profile-${step}`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        // SIGTERM when profiling, so node writes its --cpu-prof file on the way out.
        proc.kill(process.env.BENCH_NODE_ARGS?.includes('--cpu-prof') ? 'SIGTERM' : 'SIGKILL');
      }),
  };
}

/** One request of a load: sent as is, with `Content-Length` added for a body. */
export interface LoadRequest {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export interface LoadOptions {
  /** `http://host:port`; the path comes from the requests. */
  readonly url: string;
  readonly seconds: number;
  readonly connections?: number;
  /** Requests in flight per connection: 10 keeps the server, not the load tool, the bottleneck. */
  readonly pipelining?: number;
  /** Sent in turn, cycling, across all connections (e.g. one per session cookie). */
  readonly requests: readonly LoadRequest[];
}

export interface LoadResult {
  /** Average requests per second. */
  readonly rps: number;
  readonly requests: number;
  /** 99th percentile latency, microseconds (wrk --latency; with pipelining, per batch of requests). */
  readonly p99: number;
}

const LOAD_SCRIPT = fileURLToPath(new URL('../../bench/load.lua', import.meta.url));
const requestFiles = new WeakMap<readonly LoadRequest[], string>();
let requestDir: string | undefined;
let requestFileCount = 0;

/** The requests as the lines bench/load.lua reads, written once per list. */
function requestFile(requests: readonly LoadRequest[]): string {
  const known = requestFiles.get(requests);
  if (known !== undefined) return known;
  const lines = requests.map((r) => {
    const fields = [`${r.method ?? 'GET'} ${r.path}`, ...Object.entries(r.headers ?? {}).map(([k, v]) => `${k}: ${v}`)];
    const line = `${fields.join('\t')}\t\t${r.body ?? ''}`;
    if (/[\r\n]/.test(line) || fields.some((f) => f.includes('\t')) || (r.body ?? '').includes('\t')) {
      throw new Error(`load request ${fields[0]}: headers and bodies cannot hold tabs or line breaks here`);
    }
    return line;
  });
  requestDir ??= mkdtempSync(join(tmpdir(), 'nova-bench-'));
  const file = join(requestDir, `requests-${(requestFileCount += 1)}.txt`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  requestFiles.set(requests, file);
  return file;
}
process.once('exit', () => {
  if (requestDir !== undefined) rmSync(requestDir, { recursive: true, force: true });
});

/** Stop before any set-up work when wrk is missing, with the command that installs it. */
export function requireLoadTool(): void {
  if (spawnSync('wrk', ['--version']).error !== undefined) {
    progress('the benchmarks load servers with wrk, which is not installed (Debian/Ubuntu: apt-get install wrk)');
    process.exit(1);
  }
}

/**
 * Load a server with wrk (one thread: the load tool keeps to one core and leaves the other to
 * the server). wrk, not autocannon: autocannon spends about as much CPU per request as bare
 * node:http does answering it, so on two cores it, not the server, capped every fast server
 * (bare node:http measured 2.77× @fastify/session under autocannon, against 3.4× by server CPU).
 * Fails loudly on socket errors, timeouts or any answer of 400 and above; each benchmark checks
 * its routes' answers before loading them.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const [command, args] = pinned(1, 'wrk', ['-t1', `-c${options.connections ?? 50}`, `-d${options.seconds}s`, '--latency', '-s', LOAD_SCRIPT, options.url]);
  const env = { ...process.env, WRK_REQUESTS: requestFile(options.requests), WRK_PIPELINE: String(options.pipelining ?? 10) };
  const out = await new Promise<string>((resolve, reject) => {
    const proc = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    proc.stdout.on('data', (d: Buffer) => (text += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (text += d.toString()));
    proc.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error('the benchmarks load servers with wrk: install it first (Debian: apt-get install wrk)') : err),
    );
    proc.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}:\n${text}`))));
  });
  const line = out.split('\n').find((l) => l.startsWith('WRK '));
  if (line === undefined) throw new Error(`wrk printed no result:\n${out}`);
  const r = JSON.parse(line.slice(4)) as Record<'requests' | 'duration_us' | 'connect' | 'read' | 'write' | 'status' | 'timeout' | 'p99_us', number>;
  const bad = r.connect + r.read + r.write + r.status + r.timeout;
  if (bad > 0 && bad > r.requests * 0.001) {
    throw new Error(`${options.url}: ${r.connect + r.read + r.write} socket errors, ${r.timeout} timeouts, ${r.status} answers ≥ 400 of ${r.requests}`);
  }
  return { rps: r.requests / (r.duration_us / 1e6), requests: r.requests, p99: r.p99_us };
}

/** Load a target and also measure its CPU microseconds per request. */
export async function loadTarget(target: Target, options: Omit<LoadOptions, 'url'>): Promise<LoadResult & { cpuPerRequest: number }> {
  const before = await target.cpu();
  const result = await load({ ...options, url: `http://127.0.0.1:${target.port}` });
  const cpu = (await target.cpu()) - before;
  return { ...result, cpuPerRequest: cpu / result.requests };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Print progress on stderr so stdout stays the table. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Replace the section between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in bench/README.md. */
export function recordSection(name: string, markdown: string): void {
  const file = fileURLToPath(new URL('../../bench/README.md', import.meta.url));
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  if (start === -1 || end === -1) throw new Error(`bench/README.md has no ${open} … ${close} section`);
  writeFileSync(file, `${text.slice(0, start + open.length)}\n${markdown}\n${text.slice(end)}`);
}
