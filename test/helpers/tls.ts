// A self-signed certificate for localhost and 127.0.0.1, made with openssl for one test run, and
// small HTTP/2 and HTTPS clients that trust it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { connect, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DevCert {
  readonly dir: string;
  readonly keyFile: string;
  readonly certFile: string;
  readonly key: Buffer;
  readonly cert: Buffer;
  remove(): void;
}

/** `openssl req -x509 …` into a fresh temporary directory: the one-liner docs/server.md shows. */
export function makeDevCert(): DevCert {
  const dir = mkdtempSync(join(tmpdir(), 'nova-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'pipe' },
  );
  return { dir, keyFile, certFile, key: readFileSync(keyFile), cert: readFileSync(certFile), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface H2Answer {
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on an HTTP/2 session; `body` is sent whole. */
export function h2Request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: string): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let got: IncomingHttpHeaders = {};
    let text = '';
    stream.on('response', (h) => (got = h));
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => (text += d));
    stream.on('end', () => resolve({ headers: got, body: text }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

/** An HTTP/2 session to `origin` trusting `ca`. */
export function h2Connect(origin: string, ca: Buffer): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(origin, { ca });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The protocol ALPN chose. */
  alpn: string | false | null;
}

/** One HTTPS request over HTTP/1.1 (node:https offers only http/1.1 in ALPN), trusting `ca`. */
export function httpsRequestOnce(
  url: string,
  ca: Buffer,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    // Offer ALPN as a browser does, so the server's choice of http/1.1 is seen (tls.connect takes it; the https types omit it).
    const tlsOptions = { method: options.method ?? 'GET', headers: options.headers, ca, agent: false, ALPNProtocols: ['http/1.1'] } as RequestOptions;
    const req = httpsRequest(url, tlsOptions, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          alpn: (res.socket as { alpnProtocol?: string | false | null }).alpnProtocol ?? null,
        }),
      );
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Headers HTTP/2 forbids (RFC 9113 §8.2.2): a response carrying one is malformed. */
export const CONNECTION_SPECIFIC = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'];
