// One request as raw bytes on a fresh connection, so the fuzz suite can send what no HTTP client
// would (conflicting framing, invalid header characters, absolute-form targets, broken UTF-8).
import { connect } from 'node:net';

export interface RawAnswer {
  /** The first response's status, or undefined when the server closed or stayed silent. */
  readonly status: number | undefined;
  /** Header lines of the first response, names lower-cased. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: string;
}

/**
 * Send `bytes` to 127.0.0.1:`port` and read the first response, until the server closes (the
 * requests say `connection: close`) or `timeoutMs` passes. With `endAfterMs`, our side of the
 * connection is closed after that long without an answer: a request whose framing promises more
 * body than it sends is then answered or dropped at once instead of waiting out the timeout.
 * (Not at once: Node aborts a request whose client half-closes before the answer is written.)
 */
export function rawRequest(port: number, bytes: Buffer, options: { timeoutMs?: number; endAfterMs?: number } = {}): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    const timer = setTimeout(() => socket.destroy(), options.timeoutMs ?? 15_000);
    const ender = options.endAfterMs === undefined ? undefined : setTimeout(() => chunks.length === 0 && socket.end(), options.endAfterMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      clearTimeout(ender);
      resolve(parse(Buffer.concat(chunks).toString('latin1')));
    });
  });
}

function parse(all: string): RawAnswer {
  let text = all;
  // Interim answers (100 Continue for `Expect: 100-continue`) come before the real one.
  while (/^HTTP\/1\.[01] 1\d\d /.test(text) && text.includes('\r\n\r\n')) text = text.slice(text.indexOf('\r\n\r\n') + 4);
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  if (m === null) return { status: undefined, headers: [], body: '' };
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const headers = head
    .split('\r\n')
    .slice(1)
    .map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const;
    });
  return { status: Number(m[1]), headers, body: end === -1 ? '' : text.slice(end + 4) };
}

/** Every value of header `name` in an answer. */
export function headerValues(answer: RawAnswer, name: string): string[] {
  return answer.headers.filter(([n]) => n === name).map(([, v]) => v);
}
