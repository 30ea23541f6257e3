import { parseSetCookie } from 'cookie';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { App } from '../app.js';
import { socketPair } from './socket-pair.js';

/** A request for `inject` or an agent. */
export interface InjectRequest {
  /** Default `GET`. */
  method?: string;
  /** A path with its query (`/search?q=nova`), or an absolute URL whose host becomes the `Host` header. */
  url: string;
  headers?: Record<string, string | string[] | undefined>;
  /** Sent as one `Cookie` header, after any given in `headers.cookie`. */
  cookies?: Record<string, string>;
  /** A string or Buffer is sent as it is; anything else as JSON (`content-type: application/json` unless given). */
  body?: string | Buffer | object;
  /** Sent URL-encoded (`content-type: application/x-www-form-urlencoded` unless given). Not with `body`. */
  form?: Record<string, string>;
  /** The client's address as the app sees it (`ctx.clientAddress`); default `127.0.0.1`. */
  remoteAddress?: string;
}

/** A cookie set by a response, as its `Set-Cookie` header says (value URL-decoded). */
export interface InjectCookie {
  name: string;
  value: string;
  path?: string;
  domain?: string;
  maxAge?: number;
  expires?: Date;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: boolean | 'lax' | 'strict' | 'none';
  partitioned?: boolean;
  priority?: 'low' | 'medium' | 'high';
}

/** The whole response, body included (a streamed one read to its end). */
export interface InjectResponse {
  status: number;
  /** Lower-case names; `set-cookie` is a list, other repeated headers are joined by Node's rules. */
  headers: IncomingHttpHeaders;
  /** The body as UTF-8 text. */
  body: string;
  /** The body's bytes, for binary answers. */
  rawBody: Buffer;
  /** The body parsed as JSON (throws if it is not). */
  json<T = unknown>(): T;
  /** Every `Set-Cookie` of the response, parsed. */
  cookies: InjectCookie[];
}

/**
 * Run one request through the app's whole request path — session cookie, router, cross-origin
 * check, plugins, security, controller, result, session cookie out, security headers — without
 * opening a socket: Node's own HTTP server and client talk over an in-memory connection, so the
 * request is parsed and the response framed exactly as on the wire (Fastify's `inject`).
 *
 * The app need not listen. The first call starts it (`app.start()`: its session store and
 * plugins), once; stop it at the end of the test with `await app.close()`.
 *
 * @example
 * ```ts
 * import { inject } from 'nova-ts/testing';
 *
 * const app = createApp({ routes: [{ routes: [['/hello', () => json({ hello: 'world' })]] }] });
 * const res = await inject(app, { url: '/hello' });
 * assert.equal(res.status, 200);
 * assert.deepEqual(res.json(), { hello: 'world' });
 * await app.close();
 * ```
 */
export async function inject(app: App, request: InjectRequest): Promise<InjectResponse> {
  await app.start();
  const { path, headers, body } = encode(request);
  const { client, server } = socketPair(request.remoteAddress);
  return new Promise<InjectResponse>((resolve, reject) => {
    failures.set(server, reject);
    serverFor(app).emit('connection', server);
    const req = httpRequest({ method: request.method ?? 'GET', path, headers, createConnection: () => client }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const rawBody = Buffer.concat(chunks);
        const text = rawBody.toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text,
          rawBody,
          json: <T>() => JSON.parse(text) as T,
          cookies: (res.headers['set-cookie'] ?? []).map(toCookie),
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Where a failure of `app.handle` itself (not an error the pipeline answers) is reported, per connection. */
const failures = new WeakMap<object, (err: unknown) => void>();
/** One `node:http` server per app, never listening: it only parses requests and frames responses. */
const servers = new WeakMap<App, Server>();

function serverFor(app: App): Server {
  let server = servers.get(app);
  if (server === undefined) {
    server = createServer({ maxHeaderSize: app.config.server.maxHeaderSize }, (req, res) => {
      app.handle(req, res).catch((err: unknown) => {
        failures.get(req.socket)?.(err);
        res.destroy();
      });
    });
    servers.set(app, server);
  }
  return server;
}

/** The request's path, headers and body bytes, with `Content-Type` and `Content-Length` filled in. */
function encode(request: InjectRequest): { path: string; headers: OutgoingHttpHeaders; body: Buffer | undefined } {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) if (value !== undefined) headers[name.toLowerCase()] = value;
  let path = request.url;
  if (/^https?:\/\//i.test(path)) {
    const url = new URL(path);
    path = `${url.pathname}${url.search}`;
    headers.host ??= url.host;
  }
  if (request.cookies !== undefined) {
    const pairs = Object.entries(request.cookies).map(([name, value]) => `${name}=${value}`);
    const given = headers.cookie === undefined ? [] : [String(headers.cookie)];
    if (pairs.length > 0) headers.cookie = [...given, ...pairs].join('; ');
  }
  if (request.body !== undefined && request.form !== undefined) throw new TypeError('inject: give `body` or `form`, not both');
  let body: Buffer | undefined;
  if (request.form !== undefined) {
    body = Buffer.from(new URLSearchParams(request.form).toString());
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  } else if (typeof request.body === 'string' || Buffer.isBuffer(request.body)) {
    body = Buffer.from(request.body);
  } else if (request.body !== undefined) {
    body = Buffer.from(JSON.stringify(request.body));
    headers['content-type'] ??= 'application/json';
  }
  // Framed by its length, as a browser frames a form post (and so a GET may carry one too).
  if (body !== undefined) headers['content-length'] ??= String(body.length);
  return { path, headers, body };
}

function toCookie(header: string): InjectCookie {
  const parsed = parseSetCookie(header);
  return { ...parsed, value: parsed.value ?? '' };
}
