// Shared pieces of the benchmarks: run a target server in its own process, load it with
// autocannon from this one, and record results in bench/README.md between markers.
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Target {
  readonly port: number;
  readonly proc: ChildProcess;
  stop(): Promise<void>;
}

/** Start `bench/targets/<name>.js`; it prints `READY <port>` once it listens. */
export async function startTarget(name: string, env: Record<string, string> = {}): Promise<Target> {
  const script = fileURLToPath(new URL(`./targets/${name}.js`, import.meta.url));
  const proc = spawn(process.execPath, ['--expose-gc', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
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
  readonly requests?: autocannon.Request[];
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** Load a URL; returns average requests per second, failing loudly on errors or non-2xx/3xx. */
export async function load(options: LoadOptions): Promise<number> {
  const result = await autocannon({
    url: options.url,
    duration: options.seconds,
    connections: options.connections ?? 50,
    ...(options.requests ? { requests: options.requests } : {}),
    ...(options.method ? { method: options.method as autocannon.Options['method'] } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.body ? { body: options.body } : {}),
  });
  const bad = result.errors + result.timeouts + result.non2xx;
  if (bad > 0 && bad > result.requests.total * 0.001) {
    throw new Error(`${options.url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx of ${result.requests.total}`);
  }
  return result.requests.average;
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
