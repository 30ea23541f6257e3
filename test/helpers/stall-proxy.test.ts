// The stall proxy must hold a partition exactly as the end-to-end tests assume: connections open,
// nothing through either way, no error on either side, and everything delivered in order after.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { hasServer, ownServer, type OwnServer } from './servers.js';
import { stallProxy, type StallProxy } from './stall-proxy.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client that collects everything it receives, and whether it saw the connection end. */
async function client(url: string): Promise<{ socket: Socket; received: () => string; ended: () => boolean }> {
  const { port } = new URL(url);
  const socket = connect({ host: '127.0.0.1', port: Number(port) });
  await once(socket, 'connect');
  let text = '';
  let ended = false;
  socket.on('data', (d: Buffer) => (text += d.toString()));
  socket.on('close', () => (ended = true));
  socket.on('error', () => (ended = true));
  return { socket, received: () => text, ended: () => ended };
}

describe('stallProxy', () => {
  let echo: ReturnType<typeof createServer>;
  let proxy: StallProxy;
  const serverSide: Socket[] = [];
  let serverEnded = false;

  before(async () => {
    echo = createServer((socket) => {
      serverSide.push(socket);
      socket.on('data', (d) => socket.write(d));
      socket.on('close', () => (serverEnded = true));
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    proxy = await stallProxy(`tcp://127.0.0.1:${(echo.address() as { port: number }).port}`);
  });
  after(async () => {
    await proxy.close();
    await new Promise((resolve) => echo.close(resolve));
  });

  it('forwards both ways, holds everything while stalled without closing anything, then delivers it in order', async () => {
    const c = await client(proxy.url);
    c.socket.write('one.');
    await pause(100);
    assert.equal(c.received(), 'one.');

    proxy.stall();
    c.socket.write('two.');
    serverSide[0]!.write('from-server.');
    c.socket.write('three.');
    await pause(300);
    assert.equal(c.received(), 'one.', 'nothing reaches the client while stalled, in either direction');
    assert.equal(c.ended() || serverEnded, false, 'both connections stay open');

    const late = await client(proxy.url);
    late.socket.write('late.');
    await pause(200);
    assert.equal(late.received(), '', 'a connection made while stalled is accepted and held');

    proxy.resume();
    await pause(200);
    assert.equal(c.received(), 'one.from-server.two.three.', 'held data arrives in order once resumed');
    assert.equal(late.received(), 'late.');
    c.socket.destroy();
    late.socket.destroy();
  });

  it('cuts a real Redis client off silently: commands hang, no error, and complete after the stall', {
    skip: hasServer('redis') || process.env.CI === 'true' ? false : 'redis-server is not installed',
  }, async () => {
    const server: OwnServer = await ownServer('redis');
    const cut = await stallProxy(server.url);
    const redis = createClient({ url: cut.url });
    const errors: unknown[] = [];
    redis.on('error', (err) => errors.push(err));
    try {
      await redis.connect();
      assert.equal(await redis.ping(), 'PONG');
      cut.stall();
      let answered = false;
      const ping = redis.ping().then((r) => ((answered = true), r));
      await pause(1500);
      assert.equal(answered, false, 'a stalled command gets no answer');
      assert.deepEqual(errors, [], 'and the client sees no error: TCP says nothing');
      cut.resume();
      assert.equal(await ping, 'PONG');
    } finally {
      cut.resume();
      await redis.quit().catch(() => {});
      await cut.close();
      await server.kill();
    }
  });
});
