// config.server: a body that stalls is answered 408 within bodyTimeout (not at requestTimeout), a
// client that never finishes its headers gets 408 within headersTimeout, and maxConnections holds.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { json, requestPlugin, status, type NovaConfigInput } from 'nova-ts';
import { serve, type Served } from '../helpers/serve.js';

// Long enough that an answer before it can only come from the shorter limit under test.
const LONG = 60_000;

const config = (server: NovaConfigInput['server']): NovaConfigInput => ({
  plugins: [requestPlugin()],
  useSessions: false,
  server,
  routes: [
    {
      prefix: '',
      security: false,
      routes: [
        ['/echo', (ctx) => json({ got: ctx.params }), { methods: ['post'] }],
        ['/ignore', () => status(204), { methods: ['post'] }],
        ['/hello', () => status(200), { methods: ['get'] }],
      ],
    },
  ],
});

/** A raw connection to `served` that collects everything it receives and says when it closed. */
function rawSocket(served: Served): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  const { hostname, port } = new URL(served.url);
  const socket = connect(Number(port), hostname);
  let data = '';
  socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
  socket.on('error', () => {});
  const started = Date.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

describe('server limits', () => {
  let served: Served;
  before(async () => {
    served = await serve(config({ bodyTimeout: 500, headersTimeout: 500, requestTimeout: LONG, keepAliveTimeout: 1000 }));
  });
  after(() => served.close());

  it('answers a stalled body 408 within bodyTimeout, long before requestTimeout, and closes the connection', async () => {
    const { socket, received, closed } = await rawSocket(served);
    const length = 1024 * 1024;
    socket.write(`POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: ${length}\r\n\r\n`);
    socket.write(Buffer.alloc(length / 2, 'a')); // half the body, then nothing more
    const elapsed = await closed;
    assert.match(received(), /^HTTP\/1\.1 408 /, `got: ${received().slice(0, 200)}`);
    assert.match(received(), /connection: close/i);
    assert.ok(elapsed < LONG / 4, `closed after ${elapsed} ms; requestTimeout is ${LONG} ms`);
  });

  it('keeps waiting for a body that trickles in, byte after byte, more slowly than the timeout in total', async () => {
    const { socket, received, closed } = await rawSocket(served);
    socket.write('POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 5\r\n\r\n');
    for (const byte of 'a=bcd') {
      await new Promise((r) => setTimeout(r, 200)); // 1 s in all, each gap under 500 ms
      socket.write(byte);
    }
    await new Promise((r) => setTimeout(r, 300));
    socket.end();
    await closed;
    assert.match(received(), /^HTTP\/1\.1 201 /, `got: ${received().slice(0, 200)}`);
    assert.match(received(), /"got":\{"a":"bcd"\}/);
  });

  it('closes a connection whose body nobody reads once the reply is out and the body stalls', async () => {
    const { socket, received, closed } = await rawSocket(served);
    socket.write('POST /ignore HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: 1048576\r\n\r\n');
    socket.write(Buffer.alloc(1000));
    const elapsed = await closed;
    assert.match(received(), /^HTTP\/1\.1 204 /);
    assert.ok(elapsed < LONG / 4, `closed after ${elapsed} ms; requestTimeout is ${LONG} ms`);
  });

  it('answers 408 to a client that never finishes its headers, within headersTimeout', async () => {
    const { socket, received, closed } = await rawSocket(served);
    socket.write('GET /hello HTTP/1.1\r\nhost: x\r\nx-slow: '); // and never the rest
    const elapsed = await closed;
    assert.match(received(), /^HTTP\/1\.1 408 /, `got: ${received().slice(0, 200)}`);
    assert.ok(elapsed < LONG / 4, `closed after ${elapsed} ms; requestTimeout is ${LONG} ms`);
  });

  it('still serves ordinary requests', async () => {
    const res = await fetch(`${served.url}/echo`, { method: 'POST', body: new URLSearchParams({ a: '1' }) });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { got: { a: '1' } });
  });
});

describe('server.maxConnections', () => {
  let served: Served;
  before(async () => {
    served = await serve(config({ maxConnections: 2 }));
  });
  after(() => served.close());

  /** A keep-alive GET on `socket`; resolves once the 200 is in. */
  const hello = (conn: Awaited<ReturnType<typeof rawSocket>>) =>
    new Promise<void>((resolve, reject) => {
      const before = conn.received().length;
      conn.socket.write('GET /hello HTTP/1.1\r\nhost: x\r\n\r\n');
      const check = setInterval(() => {
        if (/HTTP\/1\.1 200 [\s\S]*\r\n\r\n/.test(conn.received().slice(before))) {
          clearInterval(check);
          resolve();
        }
      }, 10);
      void conn.closed.then(() => {
        clearInterval(check);
        reject(new Error('closed before the answer'));
      });
    });

  it('drops the connection after the limit, and takes one again once a connection closes', async () => {
    const first = await rawSocket(served);
    const second = await rawSocket(served);
    await hello(first);
    await hello(second);
    const third = await rawSocket(served);
    third.socket.write('GET /hello HTTP/1.1\r\nhost: x\r\n\r\n');
    await third.closed;
    assert.equal(third.received(), '', 'the connection over the limit got an answer');

    first.socket.destroy();
    await first.closed;
    // The server counts the closed connection out once it has seen the close: retry briefly.
    let answered = false;
    for (let i = 0; i < 50 && !answered; i++) {
      const next = await rawSocket(served);
      answered = await hello(next).then(
        () => true,
        () => false,
      );
      next.socket.destroy();
      if (!answered) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(answered, 'a new connection is served once one of the two closed');
    second.socket.destroy();
  });
});
