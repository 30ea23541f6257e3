import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inProcessBus, type InProcessBus } from '../../pubsub/transports/in-process.js';
import { rejectsWith } from '../../testing/session-store.lifecycle.js';
import { generateSessionId } from '../id.js';
import type { SessionStoreOptions } from '../store.js';
import { replicatedStore, type ReplicatedSessionStore } from './store.js';

const SECRET = 'replication-budget-secret-0123456789abcdef';
const OPTIONS: SessionStoreOptions = { idleTimeoutMs: 60_000, absoluteTimeoutMs: 600_000, touchIntervalMs: 1000, maxSessionBytes: 65_536, maxSessions: 1000 };

function node(bus: InProcessBus): ReplicatedSessionStore {
  // A long lease: a loaded test machine must not fence a node mid-test.
  return replicatedStore({ transport: bus.transport(), secret: SECRET, joinTimeoutMs: 20, leaseMs: 60_000 });
}

async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('replicated memory store: the byte budget (maxStoreBytes)', () => {
  it('refuses growing writes made here past the budget, and applies writes from peers whatever it says', async () => {
    const bus = inProcessBus();
    const [a, b] = [node(bus), node(bus)];
    await a.start({ ...OPTIONS, maxStoreBytes: 20_000 });
    await b.start({ ...OPTIONS, maxStoreBytes: 1_000_000 });
    try {
      const ada = generateSessionId();
      await a.bindUser(ada, 'ada', {});
      await a.setValue(ada, 'v', 'x'.repeat(5000));
      const fromPeer: string[] = [];
      for (let i = 0; i < 3; i++) {
        const id = generateSessionId();
        await b.bindUser(id, `user${i}`, {});
        await b.setValue(id, 'v', 'y'.repeat(10_000));
        fromPeer.push(id);
      }
      for (const id of fromPeer) await until(async () => (await a.getValue(id, 'v')) !== undefined, 'the peer write applied');
      assert.ok(a.bytes > 35_000, `node a holds ${a.bytes} bytes, past its budget of 20,000: convergence first`);

      await assert.rejects(
        a.setValue(generateSessionId(), 'v', 1),
        (err: { code?: string; status?: number; message?: string }) =>
          err.code === 'NOVA_ERR_SESSION_STORE_FULL' && err.status === 503 && /bytes/.test(err.message ?? ''),
      );
      await rejectsWith(a.bindUser(generateSessionId(), 'eve', {}), 'NOVA_ERR_SESSION_STORE_FULL');
      await rejectsWith(a.setValue(ada, 'v', 'x'.repeat(6000)), 'NOVA_ERR_SESSION_STORE_FULL');
      await rejectsWith(a.rotate(ada, generateSessionId()), 'NOVA_ERR_SESSION_STORE_FULL');
      assert.equal(((await a.getValue(ada, 'v')) as string).length, 5000, 'a refused write changes nothing');
      await a.setValue(ada, 'v', 'short'); // shrinking: accepted
      await a.deleteValue(fromPeer[0]!); // a logout: accepted
      assert.equal(await b.getValue(fromPeer[0]!, 'v'), undefined);
      await b.setValue(generateSessionId(), 'v', 'z'.repeat(5000)); // b is within its own budget
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('makes room for a write made here by ending sessions tied to no user, oldest first, on every node', async () => {
    const bus = inProcessBus();
    const [a, b] = [node(bus), node(bus)];
    await a.start({ ...OPTIONS, maxStoreBytes: 20_000 });
    await b.start({ ...OPTIONS, maxStoreBytes: 20_000 });
    try {
      const anonymous: string[] = [];
      for (let i = 0; i < 3; i++) {
        const id = generateSessionId();
        await a.setValue(id, 'v', 'x'.repeat(5000));
        anonymous.push(id);
      }
      const ada = generateSessionId();
      await a.bindUser(ada, 'ada', {});
      await a.setValue(ada, 'v', 'y'.repeat(5000)); // needs the room of the oldest anonymous session
      assert.equal(a.evictions, 1);
      assert.equal(await a.getValue(anonymous[0]!, 'v'), undefined);
      await until(async () => (await b.getValue(anonymous[0]!, 'v')) === undefined, 'the eviction reached the peer');
      for (const id of anonymous.slice(1)) assert.equal(((await b.getValue(id, 'v')) as string).length, 5000);
      // Only logged-in sessions and the one being written left to end: refused.
      await a.deleteValue(anonymous[2]!);
      await rejectsWith(a.setValue(anonymous[1]!, 'more', 'z'.repeat(9000)), 'NOVA_ERR_SESSION_STORE_FULL');
      assert.equal(((await a.getValue(anonymous[1]!, 'v')) as string).length, 5000, 'the session written is not evicted for its own write');
      assert.equal(((await a.getValue(ada, 'v')) as string).length, 5000);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('evicts the oldest session tied to no user when the session cap is reached, and refuses when none is left', async () => {
    const bus = inProcessBus();
    const a = node(bus);
    await a.start({ ...OPTIONS, maxSessions: 3 });
    try {
      const [first, second] = [generateSessionId(), generateSessionId()];
      await a.bindUser(first, 'ada', {});
      await a.setValue(second, 'v', 1);
      await a.setValue(generateSessionId(), 'v', 1);
      await a.bindUser(generateSessionId(), 'bob', {}); // the fourth: the anonymous `second` goes
      assert.equal(await a.getValue(second, 'v'), undefined);
      assert.equal(a.liveSessions, 3);
      await a.bindUser(generateSessionId(), 'eve', {}); // and the next anonymous one
      await rejectsWith(a.setValue(generateSessionId(), 'v', 1), 'NOVA_ERR_SESSION_STORE_FULL');
      assert.equal(a.liveSessions, 3);
    } finally {
      await a.stop();
    }
  });

  it('gives the bytes back when sessions end and their tombstones are forgotten', async () => {
    const bus = inProcessBus();
    const a = node(bus);
    await a.start(OPTIONS);
    try {
      const empty = a.bytes;
      const id = generateSessionId();
      await a.setValue(id, 'v', 'x'.repeat(10_000));
      await a.bindUser(id, 'ada', { userAgent: 'Firefox' });
      const held = a.bytes;
      assert.ok(held - empty > 10_000);
      await a.deleteValue(id);
      assert.ok(a.bytes - empty < 1000, `a tombstone is all that is left: ${a.bytes - empty} bytes`);
      (a as unknown as { state: { drop(id: string): void } }).state.drop(
        [...(a as unknown as { state: { records: Map<string, unknown> } }).state.records.keys()][0]!,
      );
      assert.equal(a.bytes, empty);
    } finally {
      await a.stop();
    }
  });
});
