// Sessions of realistic size over a real NATS server, whose messages are limited to 1 MiB: a state
// transfer and a burst of writes must be cut into messages that fit.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { skipUnlessReachable } from '../../../test/helpers/service.js';
import { natsTransport } from '../../pubsub/transports/nats.js';
import { generateSessionId } from '../id.js';
import { replicatedStore } from './store.js';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const OPTIONS = { idleTimeoutMs: 600_000, absoluteTimeoutMs: 3_600_000, touchIntervalMs: 60_000, maxSessionBytes: 65_536, maxSessions: 100_000 };

describe('replication of large sessions over NATS', () => {
  it('a late joiner receives 600 sessions of 3 KB, and 500 concurrent 3 KB writes all go through', async (t) => {
    const skip = await skipUnlessReachable(url, 4222, 'NATS');
    if (skip) return t.skip(skip);
    const secret = randomBytes(32).toString('base64url');
    const make = () => replicatedStore({ transport: natsTransport({ servers: url }), secret, cluster: 'largetest', joinTimeoutMs: 2000 });
    const a = make();
    await a.start(OPTIONS);
    const late = make();
    try {
      const cart = 'x'.repeat(3000);
      const ids = Array.from({ length: 600 }, () => generateSessionId());
      for (const id of ids.slice(0, 100)) await a.setValue(id, 'cart', cart);
      // 500 writes in one turn of the event loop: one batch of about 1.5 MB, over NATS's limit.
      await Promise.all(ids.slice(100).map((id) => a.setValue(id, 'cart', cart)));
      await late.start(OPTIONS);
      const until = Date.now() + 5000;
      while (late.liveSessions < 600 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.equal(late.liveSessions, 600);
      assert.equal(await late.getValue(ids[599]!, 'cart'), cart);
    } finally {
      await a.stop();
      await late.stop();
    }
  });
});
