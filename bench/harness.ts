// Shared pieces of the benchmarks: run a target server in its own process, load it with
// autocannon from this one, and record results in bench/README.md between markers.
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Target {
  readonly port: number;
  readonly proc: ChildProcess;
  /** The target's CPU time so far (user + system), in microseconds. */
  cpu(): Promise<number>;
  /** The target's heap after a full GC, in bytes. */
  heap(): Promise<number>;
  stop(): Promise<void>;
}

function ask(proc: ChildProcess, question: 'cpu' | 'heap'): Promise<number> {
  return new Promise((resolve) => {
    proc.once('message', (msg: Record<string, number>) => resolve(msg[question]!));
    proc.send(question);
  });
}

/** Start `bench/targets/<name>.js`; it prints `READY <port>` once it listens. */
export async function startTarget(name: string, env: Record<string, string> = {}): Promise<Target> {
  const script = fileURLToPath(new URL(`./targets/${name}.js`, import.meta.url));
  const proc = spawn(process.execPath, ['--expose-gc', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
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
    stop: () =>
      new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      }),
  };
}

export interface LoadOptions {
  readonly url: string;
  readonly seconds: number;
  readonly connections?: number;
  /** Requests in flight per connection: 10 keeps the server, not the load tool, the bottleneck. */
  readonly pipelining?: number;
  readonly requests?: autocannon.Request[];
  /** Instead of `connections` × `requests`: one connection per set, each walking its own requests. */
  readonly requestSets?: autocannon.Request[][];
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Which answers count as success: `2xx` (the default) or `3xx` (e.g. a login that redirects). */
  readonly expect?: '2xx' | '3xx';
}

export interface LoadResult {
  /** Average requests per second. */
  readonly rps: number;
  readonly requests: number;
}

/**
 * Load a URL; fails loudly on errors or answers outside `expect` (2xx unless told). With
 * `requestSets`, each set gets a connection of its own (one autocannon instance per set, run
 * together, results summed) — autocannon prebuilds every request of `requests` for every
 * connection, which for thousands of distinct requests (one per session cookie) stalls the start.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const base: autocannon.Options = {
    url: options.url,
    duration: options.seconds,
    connections: options.connections ?? 50,
    pipelining: options.pipelining ?? 10,
    ...(options.requests ? { requests: options.requests } : {}),
    ...(options.method ? { method: options.method as autocannon.Options['method'] } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.body ? { body: options.body } : {}),
  };
  const results = options.requestSets
    ? await Promise.all(options.requestSets.map((requests) => autocannon({ ...base, connections: 1, requests })))
    : [await autocannon(base)];
  const sum = (pick: (r: autocannon.Result) => number) => results.reduce((total, r) => total + pick(r), 0);
  const expect = options.expect ?? '2xx';
  const total = sum((r) => r.requests.total);
  const errors = sum((r) => r.errors);
  const timeouts = sum((r) => r.timeouts);
  const wrong = sum((r) => (expect === '2xx' ? r.non2xx : r.non2xx - r['3xx'] + r['2xx']));
  const bad = errors + timeouts + wrong;
  if (bad > 0 && bad > total * 0.001) {
    throw new Error(`${options.url}: ${errors} errors, ${timeouts} timeouts, ${wrong} non-${expect} of ${total}`);
  }
  return { rps: sum((r) => r.requests.average), requests: total };
}

/** Load a target and also measure its CPU microseconds per request. */
export async function loadTarget(target: Target, options: Omit<LoadOptions, 'url'> & { path: string }): Promise<LoadResult & { cpuPerRequest: number }> {
  const before = await target.cpu();
  const result = await load({ ...options, url: `http://127.0.0.1:${target.port}${options.path}` });
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
