// fast-check arbitraries for hostile HTTP requests: known attack strings mixed with random ones,
// for every part of a request — target, query, headers, cookies, body and its framing.
import fc from 'fast-check';

export interface HostileRequest {
  readonly method: string;
  /** Path and query, written as is into the request line. */
  readonly target: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  /** `length`: a correct Content-Length is added; `chunked`: a correct chunked body; `raw`: the headers say what they say. */
  readonly framing: 'length' | 'chunked' | 'raw';
}

const rep = (s: string, n: number) => s.repeat(n);
/** Characters a request line or header value may hold (no space in a target). */
const visible = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
const printable = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
/** Any byte but CR and LF: what a header value or a target must not hold, mostly. */
const anyByte = fc
  .integer({ min: 0, max: 0xff })
  .filter((c) => c !== 10 && c !== 13)
  .map((c) => String.fromCharCode(c));

const knownPaths = [
  '/',
  '/login',
  '/profile',
  '/heartbeat',
  '/ready',
  '/logout',
  '/sessions',
  '/me',
  '/form',
  '/api/echo',
  '/api/query',
  '/files/a/b.txt',
  '/items/7',
  '/proto-check',
  '/..',
  '/../../etc/passwd',
  '/files/../../etc/passwd',
  '/files/%2e%2e/%2e%2e/etc/passwd',
  '/files/..%2F..%2Fetc%2Fpasswd',
  '/files/%252e%252e/x',
  '/%2e%2e%2f',
  '/.%2e/',
  '/%00',
  '/a%00b',
  '/login%00',
  '/login%0d%0aSet-Cookie:%20x=1',
  '/%C0%AE%C0%AE/',
  '/%E0%80%AF',
  '/%ED%A0%80',
  '/%F8%88%80%80%80',
  '/%FF%FE',
  '/%C3%A9',
  '/%E2%80%AE',
  '*',
  'http://evil.example/login',
  'https://evil.example//profile/',
  'http://evil.example',
  'http:///x',
  'HTTP://x/%2e%2e/',
  '//login//',
  '/login/',
  '/%2561ny',
  '/%',
  '/%zz',
  '/%2',
  '/%2F%2F',
  '/a#b',
  '/sessions/%2e%2e%2flogout/revoke',
  '/sessions/__proto__/revoke',
  '/sessions/constructor/revoke',
  '/items/__proto__',
  '/items/constructor',
  '/items/%5F%5Fproto%5F%5F',
  `/${rep('a', 20_000)}`,
  `/${rep('a/', 3_000)}`,
  rep('/%61', 2_000),
  rep('/..', 2_000),
  `/items/${rep('9', 600)}`,
  rep('/%25', 3_000),
];

const segment = fc.oneof(
  fc.constantFrom(
    '..',
    '.',
    '%2e',
    '%2E%2e',
    '%2F',
    '%2f',
    '%00',
    '%25',
    '%5C',
    '\\',
    '__proto__',
    'constructor',
    'prototype',
    '',
    'login',
    'files',
    'items',
    '%C0%AE',
    '%FF',
    ';',
    ':x',
    '*',
  ),
  fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@%-]{0,12}$/),
);

/** The routes the two apps have, where bodies, cookies and queries get parsed. */
const routePaths = [
  '/',
  '/login',
  '/profile',
  '/logout',
  '/sessions',
  '/sessions/revoke-others',
  '/me',
  '/form',
  '/api/echo',
  '/api/query',
  '/files/x',
  '/items/1',
];

export const path = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...routePaths) },
  { weight: 3, arbitrary: fc.constantFrom(...knownPaths) },
  { weight: 3, arbitrary: fc.array(segment, { maxLength: 8 }).map((s) => `/${s.join('/')}`) },
  { weight: 1, arbitrary: fc.string({ unit: visible, maxLength: 40 }).map((s) => `/${s}`) },
);

const knownQueries = [
  '__proto__[polluted]=1',
  '__proto__.polluted=1',
  'constructor[prototype][polluted]=1',
  'constructor.prototype.polluted=1',
  'x[__proto__][polluted]=1',
  'a=1&a=2&a[]=3&a[0]=4',
  'toString=1&hasOwnProperty=1&valueOf=x',
  '__proto__=x&__proto__=y',
  '%zz=%',
  '%ff=%fe',
  'a=%00',
  'a=%0d%0a',
  `a=${rep('b', 8_000)}`,
  Array.from({ length: 1_000 }, (_, i) => `k${i}=v`).join('&'),
  rep('&', 2_000),
  rep('a[', 500),
  'next=//evil.example',
  'next=%5C%5Cevil.example',
];

export const query = fc.oneof(
  fc.constant(''),
  fc.constantFrom(...knownQueries),
  fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'a', 'a[]', 'x[y]'), fc.stringMatching(/^[A-Za-z0-9%[\]._~-]{0,10}$/)),
        fc.stringMatching(/^[A-Za-z0-9%+=._~-]{0,10}$/),
      ),
      { maxLength: 6 },
    )
    .map((kv) => kv.map(([k, v]) => `${k}=${v}`).join('&')),
);

export const target = fc.tuple(path, query).map(([p, q]) => (q === '' ? p : `${p}?${q}`));

/** A session cookie value that is not a valid one: random, malformed, oversized, oddly encoded. */
export const forgedSessionValue = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/),
  fc.stringMatching(/^[A-Za-z0-9_-]{0,100}$/),
  fc.constantFrom(
    '',
    '.',
    '..',
    '"',
    '""',
    '%',
    '%00',
    '%zz',
    'undefined',
    'null',
    '[object Object]',
    '__proto__',
    rep('A', 4_000),
    rep('A', 9_000),
    `${rep('A', 43)}.`,
    `.${rep('A', 43)}`,
    `"${rep('A', 43)}.${rep('A', 43)}"`,
  ),
  fc.string({ unit: visible, maxLength: 100 }),
);

const cookieName = fc.oneof(
  fc.constantFrom(
    'session_id',
    'session_id',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'SESSION_ID',
    ' session_id',
    'session_id ',
    '%73ession_id',
    '__Host-session_id',
    '',
  ),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/),
);

export const cookieHeader = fc
  .array(fc.tuple(cookieName, forgedSessionValue), { minLength: 1, maxLength: 5 })
  .map((pairs) => pairs.map(([n, v]) => `${n}=${v}`).join('; '));

const headerPairs: Array<readonly [string, string]> = [
  ['content-type', 'application/json'],
  ['content-type', 'application/x-www-form-urlencoded'],
  ['content-type', 'text/plain'],
  ['content-type', 'application/json'],
  ['content-type', 'application/x-www-form-urlencoded'],
  ['content-type', 'APPLICATION/JSON; charset=UTF-8'],
  ['content-type', 'application/json; charset=utf-16'],
  ['content-type', 'application/x-www-form-urlencoded; charset=latin1'],
  ['content-type', 'multipart/form-data; boundary=x'],
  ['content-type', 'application/vnd.x+json'],
  ['content-type', ';;;'],
  ['content-type', '__proto__/json'],
  ['content-type', rep('a', 5_000)],
  ['accept', 'text/html'],
  ['accept', 'application/json'],
  ['accept', '*/*;q=x'],
  ['accept', rep('a,', 3_000)],
  ['origin', 'https://evil.example'],
  ['origin', 'https://app.example'],
  ['origin', 'null'],
  ['sec-fetch-site', 'cross-site'],
  ['sec-fetch-site', 'same-origin'],
  ['access-control-request-method', 'DELETE'],
  ['access-control-request-headers', 'x-csrf-token, content-type'],
  ['x-csrf-token', 'A'.repeat(86)],
  ['x-csrf-token', ''],
  ['x-csrf-token', '__proto__'],
  ['x-forwarded-for', '1.2.3.4, 5.6.7.8'],
  ['x-forwarded-proto', 'https'],
  ['x-forwarded-host', 'evil.example'],
  ['x-correlation-id', rep('x', 300)],
  ['x-correlation-id', '<script>'],
  ['cookie', ''],
  ['cookie', ';;;'],
  ['cookie', rep('a=b; ', 2_000)],
  ['cookie', `session_id=${rep('A', 15_000)}`],
  ['x-big', rep('b', 20_000)],
  ['host', 'evil.example'],
  ['expect', '100-continue'],
  ['expect', 'nonsense'],
  ['__proto__', 'polluted'],
  ['constructor', 'x'],
  ['content-encoding', 'gzip'],
  ['accept-encoding', 'gzip'],
  ['range', 'bytes=0-1'],
];

/** Header lines that break the envelope: invalid names or values, conflicting framing, folding. */
const malformedPairs: Array<readonly [string, string]> = [
  ['bad header', 'x'],
  ['bad\u00ffname', 'x'],
  ['x-ctl', 'a\u0001b'],
  ['x-nul', 'a\u0000b'],
  ['x-fold', 'a\r\n b'],
  ['host', ''],
  ['transfer-encoding', 'chunked'],
  ['transfer-encoding', 'chunked, identity'],
  ['transfer-encoding', 'gzip'],
  ['transfer-encoding', ' chunked'],
  ['content-length', '0'],
  ['content-length', '5'],
  ['content-length', '-1'],
  ['content-length', '1e3'],
  ['content-length', '99999999999999999999'],
  ['content-length', '5, 6'],
  ['connection', 'keep-alive, upgrade'],
  ['upgrade', 'websocket'],
];

export const headers = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...headerPairs) },
    { weight: 2, arbitrary: cookieHeader.map((c) => ['cookie', c] as const) },
    { weight: 1, arbitrary: fc.tuple(fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/), fc.string({ unit: printable, maxLength: 60 })) },
  ),
  { maxLength: 6 },
);

const malformedHeaders = fc.array(
  fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...malformedPairs) },
    { weight: 1, arbitrary: fc.tuple(fc.string({ unit: anyByte, minLength: 1, maxLength: 20 }), fc.string({ unit: anyByte, maxLength: 60 })) },
  ),
  { minLength: 1, maxLength: 3 },
);

const deep = (open: string, close: string, n: number) => rep(open, n) + rep(close, n);

const knownBodies = [
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '{"a":{"__proto__":{"polluted":1}}}',
  '[{"__proto__":{"polluted":1}}]',
  '{"__proto__":null}',
  '{"toString":1,"hasOwnProperty":"x","valueOf":null}',
  '__proto__[polluted]=1&constructor[prototype][polluted]=1',
  '__proto__=1&constructor=2&prototype=3',
  'a=1&a=2&a=3',
  'note=%zz&note=%',
  'note=%ff%fe',
  `note=${rep('x', 70_000)}`,
  '_csrf=AAAA&note=x',
  deep('[', ']', 20_000),
  deep('{"a":', '}', 5_000).replace(/}$/, '1}'),
  '{"a":1',
  'nul',
  '',
  ' ',
  '\u0000',
  '"\\ud800"',
  '{"a":"\\u0000"}',
  '1e999999',
  rep('9', 10_000),
];

export const body = fc.oneof(
  fc.constant(Buffer.alloc(0)),
  fc.constantFrom(...knownBodies).map((s) => Buffer.from(s, 'utf8')),
  fc.constantFrom(Buffer.from([0xc0, 0xae]), Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), Buffer.from('{"a":"\xc3"}', 'latin1'), Buffer.from('note=\xe9', 'latin1')),
  fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null', 'utf8')),
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
);

const method = fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS');

/** A request with a sound envelope (method, target, header syntax, framing) and hostile content. */
const contentType = fc.constantFrom(
  'application/json',
  'application/x-www-form-urlencoded',
  'application/json; charset=utf-8',
  'text/plain',
  'application/merge-patch+json',
);

const wellFormed: fc.Arbitrary<HostileRequest> = fc.record({
  method,
  target,
  headers: fc.tuple(fc.option(contentType, { freq: 3 }), headers).map(([type, rest]) => (type === null ? rest : [['content-type', type] as const, ...rest])),
  body,
  framing: fc.constantFrom('length', 'length', 'length', 'chunked'),
});

/** A request whose envelope itself is the attack: what Node's parser must refuse or survive. */
const malformed: fc.Arbitrary<HostileRequest> = fc.record({
  method: fc.oneof(method, fc.constantFrom('TRACE', 'PROPFIND', 'get', 'G-T', '__proto__', 'CONNECT')),
  target: fc.oneof(target, fc.string({ unit: anyByte, maxLength: 40 })),
  headers: fc.tuple(headers, malformedHeaders).map(([a, b]) => [...a, ...b]),
  body,
  framing: fc.constantFrom('length', 'chunked', 'raw'),
});

/** Mostly sound envelopes (they reach the app), some broken ones (they test the parser's edge). */
export const hostileRequest: fc.Arbitrary<HostileRequest> = fc.oneof({ weight: 5, arbitrary: wellFormed }, { weight: 1, arbitrary: malformed });

/** The request's bytes, on a connection that closes after it. */
export function requestBytes(req: HostileRequest): Buffer {
  const lines = [`${req.method} ${req.target} HTTP/1.1`, 'host: 127.0.0.1'];
  for (const [name, value] of req.headers) lines.push(`${name}: ${value}`);
  let body = req.body;
  if (req.framing === 'length') lines.push(`content-length: ${body.length}`);
  if (req.framing === 'chunked') {
    lines.push('transfer-encoding: chunked');
    body = Buffer.concat([
      Buffer.from(body.length > 0 ? `${body.length.toString(16)}\r\n` : ''),
      body,
      Buffer.from(body.length > 0 ? '\r\n0\r\n\r\n' : '0\r\n\r\n'),
    ]);
  }
  lines.push('connection: close');
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/** Keys that reach Object.prototype through a naive merge, assign or path-setter. */
const protoKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'polluted', '__defineGetter__', 'toString', 'hasOwnProperty', 'valueOf');

/** JSON text (written by hand: JSON.stringify would drop an own `__proto__` key) full of prototype keys. */
export const protoJson: fc.Arbitrary<string> = fc.letrec<{ value: string; object: string; array: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 1 }).map((v) => JSON.stringify(v) ?? 'null'),
    tie('object'),
    tie('array'),
  ),
  object: fc
    .array(fc.tuple(fc.oneof(protoKey, fc.string({ maxLength: 6 })), tie('value')), { maxLength: 4 })
    .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  array: fc.array(tie('value'), { maxLength: 3 }).map((values) => `[${values.join(',')}]`),
})).object;

/** A urlencoded form or query string whose keys aim at prototypes, in every bracket and dot dialect. */
export const protoForm: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.oneof(
        protoKey,
        protoKey.map((k) => `${k}[polluted]`),
        protoKey.map((k) => `a[${k}][polluted]`),
        protoKey.map((k) => `${k}.polluted`),
        protoKey.map((k) => `constructor[${k}][polluted]`),
        fc.string({ maxLength: 6 }),
      ),
      fc.oneof(fc.constant('1'), fc.string({ maxLength: 6 })),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .chain((pairs) => fc.boolean().map((raw) => pairs.map(([k, v]) => (raw ? `${k}=${v}` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join('&')));
