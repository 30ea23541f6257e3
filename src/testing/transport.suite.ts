/**
 * The conformance suite every pub/sub transport must pass: the rules written on `Transport`.
 * Register it from any test file; it adds node:test `describe`/`it` blocks.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Transport } from '../pubsub/transport.js';
import { rejectsWith } from './session-store.lifecycle.js';

/** How the suite drives a transport. */
export interface TransportSuiteOptions {
  /** Nodes per test, at least 2. Default 3. */
  nodes?: number;
  /** How long a test waits for messages to arrive before failing. Default 5000 ms. */
  deliveryTimeoutMs?: number;
  /** First part of every channel name; each test adds a random part. Default `nova.test`. */
  channelPrefix?: string;
}

/** What each test gets: started nodes, fresh channel names, and inboxes to subscribe with. */
interface Harness {
  nodes: Transport[];
  channel(suffix: string): string;
  inbox(): Inbox;
}

/** Collects what one subscription receives; `until` waits for a message without fixed sleeps. */
class Inbox {
  readonly received: string[] = [];
  private waiters: (() => void)[] = [];
  readonly handler = (message: string): void => {
    this.received.push(message);
    for (const wake of this.waiters.splice(0)) wake();
  };

  constructor(private readonly timeoutMs: number) {}

  /** Resolves once `done(received)` holds; fails after the delivery timeout, saying what came. */
  async until(done: (received: string[]) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    while (!done(this.received)) {
      const left = deadline - Date.now();
      let timer: NodeJS.Timeout | undefined;
      const woke = await new Promise<boolean>((resolve) => {
        this.waiters.push(() => resolve(true));
        timer = setTimeout(() => resolve(false), Math.max(0, left));
      });
      clearTimeout(timer);
      if (!woke && !done(this.received)) {
        const shown = this.received.slice(-5).map((m) => (m.length > 60 ? `${m.slice(0, 60)}…` : m));
        assert.fail(`${what}: not there after ${this.timeoutMs} ms; ${this.received.length} received, last: ${JSON.stringify(shown)}`);
      }
    }
  }
}

const MARK = 'conformance-mark:';

/**
 * Publish a marker from `from` and wait until every inbox has it. A message published and
 * acknowledged before the marker arrives before it, so what each inbox holds then is final.
 * Returns each inbox's messages, markers left out.
 */
async function settle(from: Transport, channel: string, inboxes: Inbox[]): Promise<string[][]> {
  const mark = MARK + randomUUID();
  await from.publish(channel, mark);
  for (const [i, inbox] of inboxes.entries()) await inbox.until((r) => r.includes(mark), `marker in inbox ${i}`);
  return inboxes.map((inbox) => inbox.received.filter((m) => !m.startsWith(MARK)));
}

/**
 * Register the conformance tests for a transport. `makeNodes(count)` is called once per test and
 * returns `count` unstarted transports that reach each other (one per "node"); the suite starts
 * them and stops them (twice, in places: `stop` must be idempotent). Channel names are valid NATS
 * subjects. Needs a working engine: run it where the engine is reachable.
 *
 * @example
 * ```ts
 * import { transportSuite } from 'nova-ts/testing';
 * transportSuite('redis', async (count) => Array.from({ length: count }, () => redisTransport()));
 * ```
 */
export function transportSuite(name: string, makeNodes: (count: number) => Promise<Transport[]>, options: TransportSuiteOptions = {}): void {
  const count = options.nodes ?? 3;
  const timeoutMs = options.deliveryTimeoutMs ?? 5000;
  const prefix = options.channelPrefix ?? 'nova.test';
  if (!(count >= 2)) throw new RangeError('transportSuite needs at least 2 nodes');

  const withNodes = (test: (h: Harness) => Promise<void>) => async () => {
    const nodes = await makeNodes(count);
    assert.equal(nodes.length, count, `makeNodes(${count}) returned ${nodes.length} transports`);
    const base = `${prefix}.${randomUUID()}`;
    try {
      for (const node of nodes) await node.start();
      await test({ nodes, channel: (suffix) => `${base}.${suffix}`, inbox: () => new Inbox(timeoutMs) });
    } finally {
      for (const node of nodes) await node.stop();
    }
  };

  describe(`transport conformance: ${name}`, () => {
    it(
      "fans a message out to every node, the publisher's own included, once",
      withNodes(async ({ nodes, channel, inbox }) => {
        const ch = channel('fan');
        const inboxes = nodes.map(() => inbox());
        for (const [i, node] of nodes.entries()) await node.subscribe(ch, inboxes[i]!.handler);
        for (const [i, node] of nodes.entries()) await node.publish(ch, `from ${i}`);
        const all = await settle(nodes[0]!, ch, inboxes);
        const expected = nodes.map((_, i) => `from ${i}`);
        for (const [i, got] of all.entries()) assert.deepEqual(got, expected, `node ${i} got every message once, in order`);
      }),
    );

    it(
      'delivers only to subscribers of that channel',
      withNodes(async ({ nodes, channel, inbox }) => {
        // Names that share a prefix, so a transport matching by prefix or pattern fails.
        const [a, ab] = [channel('a'), channel('a.b')];
        const [onA, onAB, both1, both2] = [inbox(), inbox(), inbox(), inbox()];
        await nodes[0]!.subscribe(a, onA.handler);
        await nodes[1]!.subscribe(ab, onAB.handler);
        await nodes[2 % count]!.subscribe(a, both1.handler);
        await nodes[2 % count]!.subscribe(ab, both2.handler);
        await nodes[1]!.publish(a, 'for a');
        await nodes[0]!.publish(ab, 'for a.b');
        const [gotA, gotBoth1] = await settle(nodes[1]!, a, [onA, both1]);
        const [gotAB, gotBoth2] = await settle(nodes[1]!, ab, [onAB, both2]);
        assert.deepEqual([gotA, gotBoth1], [['for a'], ['for a']]);
        assert.deepEqual([gotAB, gotBoth2], [['for a.b'], ['for a.b']]);
      }),
    );

    it(
      'stops delivering to a handler once unsubscribed, and not to the others',
      withNodes(async ({ nodes, channel, inbox }) => {
        const ch = channel('unsub');
        const [far, gone, kept, own] = [inbox(), inbox(), inbox(), inbox()];
        await nodes[0]!.subscribe(ch, far.handler);
        const offGone = await nodes[1]!.subscribe(ch, gone.handler);
        await nodes[1]!.subscribe(ch, kept.handler);
        const offOwn = await nodes[1]!.subscribe(ch, own.handler);
        await nodes[1]!.publish(ch, 'one');
        await settle(nodes[1]!, ch, [far, gone, kept, own]);
        await offGone();
        await offOwn();
        await offOwn(); // a second call is harmless
        await nodes[1]!.publish(ch, 'two');
        const [gotFar, gotKept] = await settle(nodes[1]!, ch, [far, kept]);
        assert.deepEqual(gotFar, ['one', 'two']);
        assert.deepEqual(gotKept, ['one', 'two'], 'the other handler on the same node still gets messages');
        // kept received 'two' and the marker: had `gone` or `own` still been subscribed, they would have too.
        assert.deepEqual(
          gone.received.filter((m) => !m.startsWith(MARK)),
          ['one'],
        );
        assert.deepEqual(
          own.received.filter((m) => !m.startsWith(MARK)),
          ['one'],
        );
        const again = inbox();
        await nodes[1]!.subscribe(ch, again.handler);
        await nodes[0]!.publish(ch, 'three');
        assert.deepEqual((await settle(nodes[0]!, ch, [again]))[0], ['three'], 'subscribing again after unsubscribing works');
      }),
    );

    it(
      "keeps each publisher's order: 200 awaited one by one, 200 in flight at once",
      withNodes(async ({ nodes, channel, inbox }) => {
        const ch = channel('order');
        const inboxes = nodes.map(() => inbox());
        for (const [i, node] of nodes.entries()) await node.subscribe(ch, inboxes[i]!.handler);
        const n = 200;
        const names = (tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}`);
        const sequential = async () => {
          for (const m of names('s')) await nodes[0]!.publish(ch, m);
        };
        // Another node publishes meanwhile, so per-publisher order is checked among interleaved messages.
        await Promise.all([sequential(), Promise.all(names('c').map((m) => nodes[1]!.publish(ch, m)))]);
        await Promise.all(names('p').map((m) => nodes[0]!.publish(ch, m)));
        const all = await settle(nodes[0]!, ch, inboxes);
        for (const [i, got] of all.entries()) {
          assert.equal(got.length, 3 * n, `node ${i} got all ${3 * n} messages`);
          for (const tag of ['s', 'c', 'p'])
            assert.deepEqual(
              got.filter((m) => m.startsWith(tag)),
              names(tag),
              `node ${i}: "${tag}" messages in order`,
            );
        }
      }),
    );

    it(
      "orders a publish after another node's acknowledged publish after it, on every node",
      withNodes(async ({ nodes, channel, inbox }) => {
        const ch = channel('causal');
        const inboxes = nodes.map(() => inbox());
        for (const [i, node] of nodes.entries()) await node.subscribe(ch, inboxes[i]!.handler);
        const expected: string[] = [];
        for (let round = 0; round < 20; round++) {
          for (const [i, node] of nodes.entries()) {
            expected.push(`${round}/${i}`);
            await node.publish(ch, `${round}/${i}`);
          }
        }
        const all = await settle(nodes[0]!, ch, inboxes);
        for (const [i, got] of all.entries()) assert.deepEqual(got, expected, `node ${i} saw the publishes in acknowledgement order`);
      }),
    );

    it(
      'carries any text byte for byte: unicode, newlines, protocol-like text, 64 KiB',
      withNodes(async ({ nodes, channel, inbox }) => {
        const ch = channel('text');
        const texts = [
          '',
          ' ',
          'plain',
          'ünïcødé ✓ 😀 \u{10FFFF} 中文',
          'line 1\nline 2\r\nline 3\r',
          '\t\u0000\u0001\u007f',
          '\u2028\u2029"\'\\`',
          '{"json":[1,"two",null]}',
          '*3\r\n$7\r\nmessage\r\n$1\r\nx\r\n',
          'PUB x 5\r\nhello\r\n',
          MARK.slice(0, -1),
          'x'.repeat(65_536),
          'é😀\n'.repeat(Math.ceil(65_536 / 7)),
        ];
        const inboxes = nodes.map(() => inbox());
        for (const [i, node] of nodes.entries()) await node.subscribe(ch, inboxes[i]!.handler);
        for (const text of texts) await nodes[1]!.publish(ch, text);
        const all = await settle(nodes[1]!, ch, inboxes);
        for (const [i, got] of all.entries()) {
          assert.equal(got.length, texts.length, `node ${i} got every text`);
          for (const [k, text] of texts.entries()) {
            assert.ok(got[k] === text, `node ${i}: text ${k} (${Buffer.byteLength(text)} bytes) arrived changed (${Buffer.byteLength(got[k] ?? '')} bytes)`);
          }
        }
      }),
    );

    it(
      'after stop(): publish rejects with NOVA_ERR_PUBSUB_UNAVAILABLE and nothing is delivered',
      withNodes(async ({ nodes, channel, inbox }) => {
        const ch = channel('stopped');
        const [dead, live] = [inbox(), inbox()];
        await nodes[0]!.subscribe(ch, dead.handler);
        await nodes[1]!.subscribe(ch, live.handler);
        await nodes[0]!.stop();
        await rejectsWith(nodes[0]!.publish(ch, 'too late'), 'NOVA_ERR_PUBSUB_UNAVAILABLE');
        await nodes[0]!.stop(); // a second stop is harmless
        await nodes[1]!.publish(ch, 'after');
        assert.deepEqual((await settle(nodes[1]!, ch, [live]))[0], ['after']);
        assert.deepEqual(dead.received, [], 'a stopped node drops its subscriptions');
      }),
    );

    it('leaves no handle or timer behind once every node is stopped', async () => {
      const before = await activeResources();
      await withNodes(async ({ nodes, channel, inbox }) => {
        const ch = channel('handles');
        const inboxes = nodes.map(() => inbox());
        for (const [i, node] of nodes.entries()) await node.subscribe(ch, inboxes[i]!.handler);
        await Promise.all(nodes.map((node, i) => node.publish(ch, `m${i}`)));
        await settle(nodes[0]!, ch, inboxes);
      })();
      // Sockets close asynchronously after stop(), so allow them a moment.
      const deadline = Date.now() + 3000;
      let extra = leftOver(before, await activeResources());
      while (extra.length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        extra = leftOver(before, await activeResources());
      }
      assert.deepEqual(extra, [], 'resources still keeping the process alive after stop()');
    });
  });
}

/** Counts of the resources keeping the event loop alive, by kind, measured between two turns. */
async function activeResources(): Promise<Map<string, number>> {
  await new Promise((resolve) => setImmediate(resolve));
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

function leftOver(before: Map<string, number>, after: Map<string, number>): string[] {
  return [...after].filter(([kind, n]) => n > (before.get(kind) ?? 0)).map(([kind, n]) => `${kind} × ${n - (before.get(kind) ?? 0)}`);
}
