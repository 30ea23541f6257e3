// Runs the blocks marked `<!-- run -->`: a TypeScript or JavaScript block is transpiled beside the
// built package (so `import 'nova-ts'` finds it by self-reference, as the type check did) and run
// with node; a shell block runs with bash in a fresh temporary folder.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { COMPILED_LANGS, blockFileName, blockSource, docDir, preludeFolderFiles } from './compile.js';
import type { BlockError } from './compile.js';
import type { CodeBlock } from './extract.js';

const SHELL_LANGS = new Set(['sh', 'bash', 'shell']);

export interface RunOptions {
  /** The repository root; blocks are written under its git-ignored dist/. */
  root: string;
  /** Where prelude files and folders live. */
  preludeDir: string;
  timeoutMs?: number;
}

/**
 * Runs one block, with the named blocks of its document it may import written beside it.
 * Resolves to the problems found: a refused marker, a non-zero exit, a timeout, an unexpected output.
 *
 * @example
 * const errors = await runBlock(block, sameDocBlocks, { root, outDir: join(root, 'dist') });
 */
export async function runBlock(block: CodeBlock, docBlocks: CodeBlock[], options: RunOptions): Promise<BlockError[]> {
  const where = `${block.doc}:${block.line}`;
  const declarationOnly = block.markers.prelude.filter((name) => preludeFolderFiles(options.preludeDir, name).length === 0);
  if (declarationOnly.length > 0) {
    return [{ where, message: `a block marked "run" cannot use the prelude ${declarationOnly.join(', ')}: it only declares names for the type check` }];
  }
  let command: string;
  let args: string[];
  let cwd: string;
  let cleanup = () => {};
  if (COMPILED_LANGS.has(block.lang)) {
    const dir = join(options.root, docDir(block.doc));
    for (const name of block.markers.prelude) {
      for (const { path, text } of preludeFolderFiles(options.preludeDir, name)) writeModule(join(dir, path), text);
    }
    for (const other of docBlocks) {
      if (other === block || other.markers.file === undefined || !COMPILED_LANGS.has(other.lang)) continue;
      writeModule(join(options.root, blockFileName(other)), blockSource(other));
    }
    const file = writeModule(join(options.root, blockFileName(block)), blockSource(block));
    if (block.markers.probes.length > 0) return await probeServer(block, file, options);
    command = process.execPath;
    args = [file];
    cwd = dirname(file);
  } else if (SHELL_LANGS.has(block.lang)) {
    cwd = mkdtempSync(join(tmpdir(), 'nova-doc-sh-'));
    cleanup = () => rmSync(cwd, { recursive: true, force: true });
    command = 'bash';
    args = ['-euo', 'pipefail', '-c', block.code];
  } else {
    return [{ where, message: `a "${block.lang || 'plain'}" block cannot be run: only ts/js and sh blocks can` }];
  }
  try {
    const result = await spawnWithTimeout(command, args, cwd, options.timeoutMs ?? 20_000);
    const errors: BlockError[] = [];
    if (result.timedOut) errors.push({ where, message: `still running after ${options.timeoutMs ?? 20_000} ms (killed)` });
    else if (result.code !== 0) errors.push({ where, message: `exited with ${result.code}:\n${result.stderr.trim()}` });
    if (block.markers.output !== undefined && result.stdout.trim() !== block.markers.output) {
      errors.push({ where, message: `printed ${JSON.stringify(result.stdout.trim())}, the marker expects ${JSON.stringify(block.markers.output)}` });
    }
    return errors;
  } finally {
    cleanup();
  }
}

// Written as `.js` (the package is ESM), the name a relative import of a `.ts` file uses.
function writeModule(tsFile: string, source: string): string {
  const file = tsFile.replace(/\.(ts|mjs)$/, '.js');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    fileName: tsFile,
  });
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, outputText);
  return file;
}

// Loaded before a probed block: whatever port the block asks for, its server listens on a free
// one, which is sent to the test over the IPC channel (two helpers may run the docs at once).
const LISTEN_ON_FREE_PORT = `import net from 'node:net';
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\\d+$/.test(args[0]))) args[0] = 0;
  else if (args[0] && typeof args[0] === 'object' && 'port' in args[0]) args[0] = { ...args[0], port: 0 };
  this.once('listening', () => process.send?.({ listening: this.address() }));
  return listen.apply(this, args);
};
`;

async function probeServer(block: CodeBlock, file: string, options: RunOptions): Promise<BlockError[]> {
  const where = `${block.doc}:${block.line}`;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const preload = join(options.root, 'dist', 'doc-blocks', 'listen-on-free-port.mjs');
  writeFileSync(preload, LISTEN_ON_FREE_PORT);
  const child = spawn(process.execPath, ['--import', pathToFileURL(preload).href, file], { cwd: dirname(file), stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const address = await Promise.race([
      new Promise<AddressInfo>((resolve) => child.on('message', (message: { listening?: AddressInfo }) => message.listening && resolve(message.listening))),
      exited.then((code) => Promise.reject(new Error(`exited with ${code} before listening:\n${stderr.trim()}`))),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not listening after ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    const host = ['::', '0.0.0.0'].includes(address.address) ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const errors: BlockError[] = [];
    for (const probe of block.markers.probes) {
      const res = await fetch(`http://${host}:${address.port}${probe.path}`, {
        method: probe.method,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer();
      if (res.status !== probe.status)
        errors.push({ where, message: `${probe.method} ${probe.path} answered ${res.status}, the marker expects ${probe.status}` });
    }
    return errors;
  } catch (err) {
    return [{ where, message: (err as Error).message }];
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

function spawnWithTimeout(command: string, args: string[], cwd: string, timeoutMs: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }>((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}
