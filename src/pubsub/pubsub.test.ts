import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { skipUnlessReachable } from '../../test/helpers/service.js';
import { inProcessBus } from './transports/in-process.js';
import { natsTransport } from './transports/nats.js';
import { redisTransport } from './transports/redis.js';
import { createPubSub, type PubSub, type PubSubMessage } from './pubsub.js';

const SECRET = 'pubsub-test-secret-0123456789abcdefghij';

async function cluster(n: number, secret = SECRET): Promise<PubSub[]> {
  const bus = inProcessBus();
  const nodes = Array.from({ length: n }, () => createPubSub({ transport: bus.transport(), secret }));
  for (const node of nodes) await node.start();
  return nodes;
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('pub/sub (Nova nova_pubsub)', () => {
  it("broadcast reaches every member of the channel on every node, the sender's own included", async () => {
    const [a, b, c] = await cluster(3);
    const got: string[] = [];
    await a!.join('chat', (m) => got.push(`a:${m.topic}:${JSON.stringify(m.payload)}`));
    await b!.join('chat', (m) => got.push(`b:${m.topic}:${JSON.stringify(m.payload)}`));
    await c!.join('other', (m) => got.push(`c:${m.topic}`));
    await b!.broadcast('chat', 'say', { text: 'hi' });
    await settle();
    assert.deepEqual(got.sort(), ['a:say:{"text":"hi"}', 'b:say:{"text":"hi"}']);
    for (const n of [a, b, c]) await n!.stop();
  });

  it('tells members which node sent the message', async () => {
    const [a, b] = await cluster(2);
    const got: PubSubMessage[] = [];
    await a!.join('chat', (m) => got.push(m));
    await b!.broadcast('chat', 'say', 1);
    await settle();
    assert.deepEqual(got, [{ channel: 'chat', topic: 'say', payload: 1, from: b!.node }]);
    for (const n of [a, b]) await n!.stop();
  });

  it("localBroadcast reaches only this node's members, with a copy of the payload", async () => {
    const [a, b] = await cluster(2);
    const got: string[] = [];
    const payload = { n: 1 };
    await a!.join('chat', (m) => {
      got.push('a');
      (m.payload as { n: number }).n = 99;
    });
    await b!.join('chat', () => got.push('b'));
    a!.localBroadcast('chat', 'say', payload);
    await settle();
    assert.deepEqual(got, ['a']);
    assert.equal(payload.n, 1);
    for (const n of [a, b]) await n!.stop();
  });

  it('leave stops delivery; members() counts members per node, localMembers() lists ours', async () => {
    const [a, b] = await cluster(2);
    const got: string[] = [];
    const m1 = () => got.push('m1');
    const m2 = () => got.push('m2');
    await a!.join('room', m1);
    await a!.join('room', m2);
    await b!.join('room', () => got.push('b'));
    await settle();
    assert.deepEqual(new Set(a!.members('room').map((m) => `${m.node === a!.node ? 'a' : m.node === b!.node ? 'b' : '?'}${m.count}`)), new Set(['a2', 'b1']));
    assert.deepEqual(a!.localMembers('room'), [m1, m2]);
    await a!.leave('room', m1);
    await b!.broadcast('room', 't', null);
    await settle();
    assert.deepEqual(got.sort(), ['b', 'm2']);
    assert.deepEqual(b!.members('room').find((m) => m.node === a!.node)?.count, 1);
    await a!.stop();
    await settle();
    assert.deepEqual(
      b!.members('room').map((m) => m.node),
      [b!.node],
      'a stopped node has no members',
    );
    await b!.stop();
  });

  it('a node that starts later learns the members already there', async () => {
    const bus = inProcessBus();
    const a = createPubSub({ transport: bus.transport(), secret: SECRET });
    await a.start();
    await a.join('room', () => {});
    const late = createPubSub({ transport: bus.transport(), secret: SECRET });
    await late.start();
    await settle();
    assert.deepEqual(late.members('room'), [{ node: a.node, count: 1 }]);
    await a.stop();
    await late.stop();
  });

  it('ignores messages from a node with another secret', async () => {
    const bus = inProcessBus();
    const a = createPubSub({ transport: bus.transport(), secret: SECRET, warn: () => {} });
    const intruder = createPubSub({ transport: bus.transport(), secret: 'a-different-secret-0123456789abcdefghij' });
    await a.start();
    await intruder.start();
    const got: unknown[] = [];
    await a.join('chat', (m) => got.push(m));
    await intruder.broadcast('chat', 'say', 'forged');
    await settle();
    assert.deepEqual(got, []);
    assert.deepEqual(
      a.members('chat').map((m) => m.node),
      [a.node],
      'nor counts its members',
    );
    await a.stop();
    await intruder.stop();
  });

  it('refuses bad channel and topic names and non-JSON messages', async () => {
    const [a] = await cluster(1);
    await assert.rejects(a!.broadcast('a.b', 't', 1), { code: 'NOVA_ERR_PUBSUB_MESSAGE', message: /channel name/ });
    await assert.rejects(
      a!.join('', () => {}),
      { code: 'NOVA_ERR_PUBSUB_MESSAGE' },
    );
    await assert.rejects(a!.broadcast('chat', 'x y', 1), { code: 'NOVA_ERR_PUBSUB_MESSAGE', message: /topic name/ });
    await assert.rejects(a!.broadcast('chat', 't', new Map() as never), { code: 'NOVA_ERR_PUBSUB_MESSAGE', message: /Map/ });
    assert.throws(() => a!.localBroadcast('chat', 't', (() => 1) as never), { code: 'NOVA_ERR_PUBSUB_MESSAGE' });
    await a!.stop();
  });

  it('a join whose subscription failed leaves nothing behind: the next join subscribes again', async () => {
    const bus = inProcessBus();
    const transport = bus.transport();
    const a = createPubSub({ transport, secret: SECRET });
    const b = createPubSub({ transport: bus.transport(), secret: SECRET });
    await a.start();
    await b.start();
    const subscribe = transport.subscribe.bind(transport);
    let fail = true;
    transport.subscribe = (channel, handler) =>
      fail && channel.endsWith('pubsub.room') ? Promise.reject(new Error('engine said no')) : subscribe(channel, handler);
    await assert.rejects(
      a.join('room', () => {}),
      /engine said no/,
    );
    fail = false;
    const got: unknown[] = [];
    await a.join('room', (m) => got.push(m.payload));
    await b.broadcast('room', 't', 'hello');
    await settle();
    assert.deepEqual(got, ['hello']);
    await a.stop();
    await b.stop();
  });

  it('keeps delivering to other members when one throws', async () => {
    const [a] = await cluster(1);
    const got: string[] = [];
    const error = console.error;
    console.error = () => {};
    try {
      await a!.join('chat', () => {
        throw new Error('member bug');
      });
      await a!.join('chat', () => got.push('ok'));
      await a!.broadcast('chat', 't', 1);
      await settle();
      assert.deepEqual(got, ['ok']);
    } finally {
      console.error = error;
      await a!.stop();
    }
  });
});

describe('pub/sub over real Redis and NATS', () => {
  for (const [engine, url, port] of [
    ['redis', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 6379],
    ['nats', process.env.NATS_URL ?? 'nats://127.0.0.1:4222', 4222],
  ] as const) {
    it(`broadcasts to the members on every node over ${engine}, and reports them`, async (t) => {
      const skip = await skipUnlessReachable(url, port, engine);
      if (skip) return t.skip(skip);
      const secret = randomBytes(32).toString('base64url'); // no other test's nodes can join in
      const make = () =>
        createPubSub({ transport: engine === 'redis' ? redisTransport({ url }) : natsTransport({ servers: url }), secret, cluster: 'pubsubtest' });
      const [a, b] = [make(), make()];
      await a.start();
      await b.start();
      try {
        const got: string[] = [];
        await a.join('room', (m) => got.push(`a:${JSON.stringify(m.payload)}`));
        await b.join('room', (m) => got.push(`b:${JSON.stringify(m.payload)}`));
        await a.broadcast('room', 'say', { n: 1 });
        const until = Date.now() + 5000;
        while ((got.length < 2 || b.members('room').length < 2) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(got.sort(), ['a:{"n":1}', 'b:{"n":1}']);
        assert.deepEqual(new Set(b.members('room').map((m) => m.node)), new Set([a.node, b.node]));
      } finally {
        await a.stop();
        await b.stop();
      }
    });
  }
});
