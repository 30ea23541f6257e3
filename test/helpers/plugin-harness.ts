/**
 * Test-only helpers for the plugin tests: a real `node:http` server that runs plugins' pre-request
 * hooks on a real Context and reports what happened, plus two clients (node:http and a raw socket
 * for requests `fetch` refuses to send, such as a body that never ends).
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Context } from '../../src/context.js';
import { NovaError } from '../../src/errors.js';
import { runPhase, type Plugin } from '../../src/plugins/plugin.js';

export interface Harness {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** What the server reports when the chain finishes without answering. */
export type Inspect = (ctx: Context) => Record<string, unknown>;

const defaultInspect: Inspect = (ctx) => ({ json: ctx.json, params: ctx.params, correlationId: ctx.correlationId });

/**
 * Start a server whose handler runs `plugins`' pre-request phase. A `stop` with a status result
 * is written as that status with its headers; a thrown NovaError answers its status with
 * `{ error: code }`; otherwise 200 with `{ outcome: 'continue', ...inspect(ctx) }`.
 *
 * @example
 * ```ts
 * const server = await serve([requestPlugin()]);
 * const answer = await send(server, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
 * await server.close();
 * ```
 */
export async function serve(plugins: readonly Plugin[], inspect: Inspect = defaultInspect): Promise<Harness> {
  const server: Server = createServer((req, res) => {
    const ctx = new Context(req, res, { trustProxy: false });
    Promise.resolve()
      .then(() => runPhase(plugins, 'preRequest', ctx))
      .then(
        (result) => {
          if (result === undefined) return end(200, {}, { outcome: 'continue', ...inspect(ctx) });
          if (result.kind !== 'status') return end(200, {}, { outcome: 'stop', result });
          const { status, headers = {}, body } = result as { status: number; headers?: Record<string, string>; body?: unknown };
          return end(status, headers, body);
        },
        (err: unknown) => end(err instanceof NovaError ? err.status : 500, {}, { error: err instanceof NovaError ? err.code : String(err) }),
      );
    function end(status: number, headers: Record<string, string>, body: unknown): void {
      res.statusCode = status;
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      if (body === undefined) return void res.end();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The body parsed as JSON (undefined when empty). */
  // biome-ignore lint/suspicious/noExplicitAny: tests read the parsed fields directly and assert on them
  readonly body: any;
}

/** Send one request with node:http (which, unlike fetch, allows a body on GET). */
export function send(
  harness: Harness,
  options: { method?: string; path?: string; headers?: Record<string, string | string[]>; body?: string | Buffer } = {},
): Promise<Answer> {
  // node:http does not frame a body on GET/DELETE/OPTIONS by itself; without a length the
  // server would read the body as the next request.
  const headers = { ...options.headers };
  if (options.body !== undefined) headers['content-length'] ??= String(Buffer.byteLength(options.body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: harness.port, method: options.method ?? 'POST', path: options.path ?? '/', headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: text === '' ? undefined : JSON.parse(text) });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  /** True when the server closed the connection. */
  readonly closed: boolean;
  /** How many of the `chunks` were written before the answer came. */
  readonly chunksSent: number;
}

/**
 * Write `head` on a raw socket, then `chunks` one every `intervalMs` until the server answers.
 * Resolves once the server closes the connection or `timeoutMs` passes (then `closed` is false and
 * `status` is 0 if nothing came back), so a server that waits for more body shows up as a timeout.
 */
export function sendRaw(
  harness: Harness,
  head: string,
  chunks: readonly (string | Buffer)[] = [],
  { intervalMs = 5, timeoutMs = 2000 } = {},
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(harness.port, '127.0.0.1');
    const received: Buffer[] = [];
    let sent = 0;
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearInterval(timer);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ ...parseRaw(Buffer.concat(received).toString('latin1')), closed, chunksSent: sent });
    };
    const deadline = setTimeout(finish, timeoutMs);
    // Writes after the server hung up fail with EPIPE/ECONNRESET; the answer is already in hand.
    socket.on('error', () => undefined);
    socket.on('data', (data: Buffer) => {
      received.push(data);
      clearInterval(timer);
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.write(head);
    timer = setInterval(() => {
      const chunk = chunks[sent];
      if (chunk === undefined || socket.destroyed) return clearInterval(timer);
      sent += 1;
      socket.write(chunk);
    }, intervalMs);
  });
}

function parseRaw(text: string): { status: number; headers: Record<string, string>; text: string } {
  const split = text.indexOf('\r\n\r\n');
  if (split === -1) return { status: 0, headers: {}, text };
  const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, text: text.slice(split + 4) };
}

/** One HTTP/1.1 chunk in chunked transfer encoding. */
export function chunk(data: string): string {
  return `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`;
}
