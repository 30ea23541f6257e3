import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sessionStoreConformance } from '../../testing/session-store.suite.js';
import { inProcessBus, type InProcessBus } from '../../pubsub/transports/in-process.js';
import { generateSessionId } from '../id.js';
import type { SessionStore, SessionStoreOptions } from '../store.js';
import { replicatedStore, type ReplicatedSessionStore } from './store.js';

const SECRET = 'replication-test-secret-0123456789abcdef';
const OPTIONS: SessionStoreOptions = { idleTimeoutMs: 60_000, absoluteTimeoutMs: 600_000, touchIntervalMs: 1000, maxSessionBytes: 4096, maxSessions: 1000 };

function node(bus: InProcessBus, extra: Partial<Parameters<typeof replicatedStore>[0]> = {}): ReplicatedSessionStore {
  return replicatedStore({ transport: bus.transport(), secret: SECRET, joinTimeoutMs: 20, ...extra });
}

/**
 * Three nodes behind one SessionStore face: each call goes to the next node, so every read in the
 * conformance suite happens on another node than the write before it. Takes of one id all go to
 * one node: a take is atomic within a node only (a flash shows at most once per node).
 */
function roundRobin(): SessionStore {
  const bus = inProcessBus();
  const nodes = [node(bus), node(bus), node(bus)];
  let next = 0;
  const pick = () => nodes[next++ % nodes.length]!;
  return {
    name: 'replicated-memory, 3 nodes round robin',
    start: async (options) => {
      for (const n of nodes) await n.start(options);
    },
    stop: async () => {
      for (const n of nodes) await n.stop();
    },
    getValue: (id, key) => pick().getValue(id, key),
    setValue: (id, key, value) => pick().setValue(id, key, value),
    deleteValue: (id, key) => pick().deleteValue(id, key),
    rotate: (oldId, newId) => pick().rotate(oldId, newId),
    bindUser: (id, userId, meta) => pick().bindUser(id, userId, meta),
    userOf: (id) => pick().userOf(id),
    listUserSessions: (userId) => pick().listUserSessions(userId),
    revokeUserSession: (userId, handle) => pick().revokeUserSession(userId, handle),
    revokeUserSessions: (userId, except) => pick().revokeUserSessions(userId, except),
    takeValue: (id, key) => nodes[id.charCodeAt(0) % nodes.length]!.takeValue(id, key),
  };
}

sessionStoreConformance('replicated memory, one node', () => node(inProcessBus()));
sessionStoreConformance('replicated memory, three nodes taking turns', roundRobin);

describe('replicated memory store', () => {
  it('a node started late gets every live session and tombstone from its peers', async () => {
    const bus = inProcessBus();
    const a = node(bus);
    await a.start(OPTIONS);
    const live = generateSessionId();
    const dead = generateSessionId();
    await a.setValue(live, 'user', 'ada');
    await a.setValue(dead, 'user', 'bob');
    await a.deleteValue(dead);
    const late = node(bus, { joinTimeoutMs: 5000 });
    await late.start(OPTIONS); // resolves on the first peer's answer, not on the timeout
    assert.equal(await late.getValue(live, 'user'), 'ada');
    assert.equal(late.liveSessions, 1);
    await assert.rejects(late.setValue(dead, 'user', 'eve'), { code: 'NOVA_ERR_SESSION_GONE' });
    await a.stop();
    await late.stop();
  });

  it('a node cut off from the transport catches up when it is back, both ways', async () => {
    const bus = inProcessBus();
    const a = node(bus);
    const b = node(bus);
    await a.start(OPTIONS);
    await b.start(OPTIONS);
    const id = generateSessionId();
    await a.setValue(id, 'n', 1);
    const tb = (b as unknown as { bus: { transport: unknown } }).bus.transport;
    bus.setDown(tb as never, true);
    await a.setValue(id, 'n', 2); // b misses this
    const mine = generateSessionId();
    await assert.rejects(b.setValue(mine, 'x', 'local'), { code: 'NOVA_ERR_PUBSUB_UNAVAILABLE' }); // applied on b, not confirmed
    assert.equal(await b.getValue(id, 'n'), 1);
    bus.setDown(tb as never, false); // reconnect: b resyncs by itself
    await waitFor(async () => (await b.getValue(id, 'n')) === 2 && (await a.getValue(mine, 'x')) === 'local');
    await a.stop();
    await b.stop();
  });

  it('ignores and reports messages from a node with another secret', async () => {
    const bus = inProcessBus();
    const warnings: string[] = [];
    const a = node(bus, { warn: (m) => warnings.push(m) });
    const intruder = replicatedStore({ transport: bus.transport(), secret: 'another-secret-entirely-0123456789abcdef', joinTimeoutMs: 20, warn: () => {} });
    await a.start(OPTIONS);
    await intruder.start(OPTIONS);
    const id = generateSessionId();
    await intruder.setValue(id, 'role', 'admin');
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(await a.getValue(id, 'role'), undefined);
    assert.equal(a.size, 0);
    assert.match(warnings.join('\n'), /not signed with this node's cluster secret/);
    await a.stop();
    await intruder.stop();
  });

  it('refuses to start without a usable secret', () => {
    assert.throws(() => replicatedStore({ transport: inProcessBus().transport(), secret: 'short' }), {
      code: 'NOVA_ERR_CONFIG',
      message: /cluster secret of at least 32 bytes/,
    });
  });

  it('expiry on one node ends the session on every node', async () => {
    const bus = inProcessBus();
    let t = 1_700_000_000_000;
    const clockOptions = { ...OPTIONS, now: () => t };
    const a = node(bus);
    const b = node(bus);
    await a.start(clockOptions);
    await b.start(clockOptions);
    const id = generateSessionId();
    await a.setValue(id, 'user', 'ada');
    t += OPTIONS.idleTimeoutMs;
    assert.equal(a.expireNow(), 1);
    await new Promise((r) => setImmediate(r));
    assert.equal(b.liveSessions, 0);
    t -= OPTIONS.idleTimeoutMs; // even if b's clock disagreed, the session stays ended
    assert.equal(await b.getValue(id, 'user'), undefined);
    await a.stop();
    await b.stop();
  });

  it('a read of an unknown id waits for edits already in flight (read your writes across nodes)', async () => {
    const bus = inProcessBus();
    const a = node(bus);
    const b = node(bus);
    await a.start(OPTIONS);
    await b.start(OPTIONS);
    // Hold every delivery back by 5 ms: b learns of a's write only after a's set resolved.
    bus.deliver = (send) => void setTimeout(send, 5);
    const id = generateSessionId();
    await a.setValue(id, 'user', 'ada');
    assert.equal(await b.getValue(id, 'user'), 'ada');
    await a.stop();
    await b.stop();
  });

  it('a flood of reads of unknown ids sends one ping per round trip, not one per read', async () => {
    const bus = inProcessBus();
    const a = node(bus);
    await a.start(OPTIONS);
    bus.deliver = (send) => void setTimeout(send, 5); // a 5 ms round trip
    let pings = 0;
    const transport = (a as unknown as { bus: { transport: { publish: (c: string, m: string) => Promise<void> } } }).bus.transport;
    const publish = transport.publish.bind(transport);
    transport.publish = (channel, message) => {
      if (message.includes('"ping"')) pings++;
      return publish(channel, message);
    };
    const reads: Promise<unknown>[] = [];
    const until = Date.now() + 50;
    while (Date.now() < until) {
      for (let i = 0; i < 50; i++) reads.push(a.getValue(generateSessionId(), 'user'));
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(new Set(await Promise.all(reads)), new Set([undefined]));
    assert.ok(reads.length >= 1000, `${reads.length} reads`);
    // About 50 ms / 5 ms = 10 round trips, plus one to finish.
    assert.ok(pings <= 15, `${pings} pings for ${reads.length} reads`);
    await a.stop();
  });

  it('caps tombstones at maxSessions, so a login/logout loop cannot grow every node', async () => {
    const bus = inProcessBus();
    const a = node(bus);
    await a.start({ ...OPTIONS, maxSessions: 10 });
    for (let i = 0; i < 200; i++) {
      const [old, fresh] = [generateSessionId(), generateSessionId()];
      await a.setValue(old, 'user', i);
      await a.rotate(old, fresh);
      await a.deleteValue(fresh);
    }
    a.expireNow();
    assert.equal(a.liveSessions, 0);
    assert.ok(a.size <= 10, `${a.size} records kept`);
    await a.stop();
  });

  it('pushes its state again after a publish the transport refused without disconnecting', async () => {
    const bus = inProcessBus();
    const a = node(bus, { repairDelayMs: 20 });
    const b = node(bus);
    await a.start(OPTIONS);
    await b.start(OPTIONS);
    const transport = (a as unknown as { bus: { transport: { publish: (c: string, m: string) => Promise<void> } } }).bus.transport;
    const publish = transport.publish.bind(transport);
    let refuse = true;
    transport.publish = (channel, message) => (refuse && message.includes('"ops"') ? Promise.reject(new Error('NOPERM')) : publish(channel, message));
    const id = generateSessionId();
    await assert.rejects(a.setValue(id, 'user', 'ada'), /NOPERM/);
    refuse = false;
    await waitFor(async () => (await b.getValue(id, 'user')) === 'ada');
    await a.stop();
    await b.stop();
  });

  it('records a logout of an unknown id when it cannot confirm it is up to date', async () => {
    const bus = inProcessBus();
    const a = node(bus, { barrierTimeoutMs: 20 });
    const b = node(bus);
    await a.start(OPTIONS);
    await b.start(OPTIONS);
    const id = generateSessionId();
    // a misses b's write and its own ping: it cannot tell the id is unknown everywhere.
    const deliver = bus.deliver;
    bus.deliver = () => {};
    await b.setValue(id, 'user', 'ada');
    const logout = a.deleteValue(id);
    await new Promise((r) => setTimeout(r, 5));
    bus.deliver = deliver; // back before the barrier gives up, so the logout itself gets through
    await logout;
    await waitFor(async () => (await b.getValue(id, 'user')) === undefined);
    await a.stop();
    await b.stop();
  });
});

async function waitFor(check: () => Promise<boolean>, limitMs = 3000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
