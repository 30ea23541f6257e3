import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inProcessBus } from './transports/in-process.js';
import { Bus } from './bus.js';

const SECRET = 'bus-test-secret-0123456789abcdefghijklmn';
const settle = () => new Promise((r) => setTimeout(r, 10));

async function pair() {
  const engine = inProcessBus();
  const warnings: string[] = [];
  const a = new Bus({ transport: engine.transport(), secret: SECRET });
  const raw = engine.transport(); // anyone who can reach the engine, without the secret
  const b = new Bus({ transport: engine.transport(), secret: SECRET, warn: (m) => warnings.push(m) });
  for (const x of [a, b]) await x.start();
  await raw.start();
  return { a, b, raw, warnings };
}

describe('the signed bus', () => {
  it('delivers what a node with the secret sends, with its node id', async () => {
    const { a, b } = await pair();
    const got: unknown[] = [];
    await b.subscribe('chat', (body, from) => got.push([body, from === a.node]));
    await a.publish('chat', { hi: 1 });
    await settle();
    assert.deepEqual(got, [[{ hi: 1 }, true]]);
  });

  it('survives and refuses garbage from anyone on the engine, including non-ASCII where the MAC goes', async () => {
    const { b, raw, warnings } = await pair();
    const got: unknown[] = [];
    await b.subscribe('chat', (body) => got.push(body));
    for (const text of [`${'é'.repeat(43)}.x`, '\u0000'.repeat(50), 'x', '', `${'A'.repeat(43)}.{"n":"a","t":${Date.now()},"b":1}`, 'A'.repeat(2_000_000)]) {
      await raw.publish(b.channel('chat'), text);
    }
    await settle();
    assert.deepEqual(got, []);
    assert.match(warnings.join('\n'), /refused \d+ message/);
  });

  it('refuses a signed message replayed on another channel', async () => {
    const { a, b, raw } = await pair();
    let captured = '';
    await raw.subscribe(a.channel('chat'), (text) => (captured = text));
    const admin: unknown[] = [];
    await b.subscribe('admin', (body) => admin.push(body));
    await a.publish('chat', { role: 'admin' });
    await settle();
    assert.ok(captured.length > 0);
    await raw.publish(b.channel('admin'), captured);
    await settle();
    assert.deepEqual(admin, []);
  });

  it('refuses a signed message sent long ago (a replay)', async () => {
    const { a, b } = await pair();
    const got: unknown[] = [];
    await b.subscribe('chat', (body) => got.push(body));
    const now = Date.now;
    Date.now = () => now() - 10 * 60_000;
    let old: Promise<void>;
    try {
      old = a.publish('chat', 'old'); // signed now; delivered below, once the clock is back
    } finally {
      Date.now = now;
    }
    await old;
    await a.publish('chat', 'new');
    await settle();
    assert.deepEqual(got, ['new']);
  });

  it('keeps the process up when a handler throws', async () => {
    const { a, b, warnings } = await pair();
    await b.subscribe('chat', () => {
      throw new Error('handler bug');
    });
    await a.publish('chat', 1);
    await settle();
    assert.match(warnings.join('\n'), /handler bug/);
  });
});
