// Fencing, confirmed kills, readiness and the read barrier's "never guess absent" (issue 11, points 1-4).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { generateSessionId } from '../id.js';
import { inProcessBus } from '../../pubsub/transports/in-process.js';
import { nodes, OPTIONS, sleep, stopAll, waitFor, type Node } from '../../../test/helpers/replica-nodes.js';
import { replicatedStore } from './store.js';

const SECRET = 'replication-lease-secret-0123456789abcdef';

/** Whether `promise` is still pending after `ms`. */
async function pendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await sleep(ms);
  return !done;
}

describe('replicated store: lease and fencing', () => {
  it('a silently stalled node fences within about one lease, answers 503, and serves again with every logout applied once healed', async () => {
    const lease = { leaseMs: 300, driftMs: 50 };
    const { all } = await nodes(2, lease);
    const [a, b] = all as [Node, Node];
    const ids = [generateSessionId(), generateSessionId(), generateSessionId()];
    for (const id of ids) await a.store.setValue(id, 'user', 'ada');
    await waitFor(async () => (await b.store.getValue(ids[2]!, 'user')) === 'ada');
    assert.deepEqual(b.store.readiness(), { ready: true });

    b.transport.stall(true); // TCP open, nothing forwarded: no reconnect will ever say so
    const stalledAt = performance.now();
    const logouts = Promise.all([a.store.deleteValue(ids[0]!), a.store.deleteValue(ids[1]!)]);
    await sleep(lease.leaseMs + 100);
    await assert.rejects(b.store.getValue(ids[0]!, 'user'), { code: 'NOVA_ERR_SESSION_NODE_FENCED', status: 503 });
    await assert.rejects(b.store.getValue(generateSessionId(), 'user'), { code: 'NOVA_ERR_SESSION_NODE_FENCED' });
    await assert.rejects(b.store.setValue(ids[2]!, 'user', 'eve'), { code: 'NOVA_ERR_SESSION_NODE_FENCED' });
    await assert.rejects(b.store.deleteValue(ids[2]!), { code: 'NOVA_ERR_SESSION_NODE_FENCED' });
    await assert.rejects(b.store.listUserSessions('ada'), { code: 'NOVA_ERR_SESSION_NODE_FENCED' });
    assert.equal(b.store.readiness().ready, false);
    assert.match(b.store.readiness().reason ?? '', /fenced/);
    // The logouts on a did not wait for b past its lease plus the drift margin.
    await logouts;
    assert.ok(performance.now() - stalledAt < lease.leaseMs + lease.driftMs + 1500, 'logouts completed once b was past its lease');

    b.transport.stall(false);
    await waitFor(() => b.store.readiness().ready);
    assert.equal(await b.store.getValue(ids[0]!, 'user'), undefined, 'a logout made during the partition is applied');
    assert.equal(await b.store.getValue(ids[1]!, 'user'), undefined);
    assert.equal(await b.store.getValue(ids[2]!, 'user'), 'ada');
    assert.equal(b.logs.filter((m) => /fenced:/.test(m)).length, 1, 'said once that it is fenced');
    assert.equal(b.logs.filter((m) => /serving again/.test(m)).length, 1, 'said once that it serves again');
    await stopAll(all);
  });

  it('a node back from a partition does not serve again until a peer it hears has answered, however late', async () => {
    const lease = { leaseMs: 500, driftMs: 50 }; // joinTimeoutMs: 20
    const { all } = await nodes(2, lease);
    const [a, b] = all as [Node, Node];
    const id = generateSessionId();
    await a.store.setValue(id, 'user', 'ada');
    await waitFor(async () => (await b.store.getValue(id, 'user')) === 'ada');
    b.transport.stall(true);
    await a.store.deleteValue(id); // completes once b is past its lease plus drift: b lost its lease
    a.transport.hold(true); // everything a receives waits: its answers come far past b's join timeout
    b.transport.stall(false); // b hears a's heartbeats, and its own: it catches up
    const until = performance.now() + 250; // within a's own lease, which the hold does not renew
    while (performance.now() < until) {
      const read = await b.store.getValue(id, 'user').catch((err: { code: string }) => err.code);
      assert.notEqual(read, 'ada', 'b served a session logged out while it was away');
      assert.equal(b.store.readiness().ready, false);
      await sleep(10);
    }
    a.transport.hold(false);
    await waitFor(() => b.store.readiness().ready);
    assert.equal(await b.store.getValue(id, 'user'), undefined);
    assert.match(b.logs.join('\n'), /still waiting for 1 peer\(s\) it hears/);
    await stopAll(all);
  });

  it('a paused process (the clock jumps past the lease, no timer ran) refuses its next call, then recovers', async () => {
    const { all } = await nodes(2, { leaseMs: 200, driftMs: 50 });
    const [a] = all as [Node, Node];
    const id = generateSessionId();
    await a.store.setValue(id, 'user', 'ada');
    const until = performance.now() + 350;
    while (performance.now() < until); // like SIGSTOP: no timer, no I/O, then straight to the next request
    await assert.rejects(a.store.getValue(id, 'user'), { code: 'NOVA_ERR_SESSION_NODE_FENCED' });
    await waitFor(() => a.store.readiness().ready);
    assert.equal(await a.store.getValue(id, 'user'), 'ada');
    await stopAll(all);
  });

  it('readiness: ready once started and caught up, not when stopped', async () => {
    const { all } = await nodes(1);
    const [a] = all as [Node];
    assert.deepEqual(a.store.readiness(), { ready: true });
    await a.store.stop();
    assert.equal(a.store.readiness().ready, false);
  });

  it('refuses lease settings that cannot work', () => {
    const transport = inProcessBus().transport();
    assert.throws(() => replicatedStore({ transport, secret: SECRET, leaseMs: 100, heartbeatMs: 80 }), { code: 'NOVA_ERR_CONFIG', message: /heartbeatMs/ });
    assert.throws(() => replicatedStore({ transport, secret: SECRET, partition: 'maybe' as never }), { code: 'NOVA_ERR_CONFIG', message: /partition/ });
    assert.throws(() => replicatedStore({ transport, secret: SECRET, driftMs: -1 }), { code: 'NOVA_ERR_CONFIG', message: /driftMs/ });
  });
});

describe('replicated store: confirmed kills', () => {
  it('a logout waits until a live peer has applied it', async () => {
    const { all } = await nodes(3, { leaseMs: 2000 });
    const [a, b] = all as [Node, Node, Node];
    const id = generateSessionId();
    await a.store.setValue(id, 'user', 'ada');
    await waitFor(async () => (await b.store.getValue(id, 'user')) === 'ada');
    b.transport.hold(true); // b is slow to apply; its heartbeats still go out
    const logout = a.store.deleteValue(id);
    assert.ok(await pendingAfter(logout, 150), 'the logout waits for b');
    b.transport.hold(false);
    await logout;
    assert.equal(await b.store.getValue(id, 'user'), undefined, 'b applied it before the logout resolved');
    await stopAll(all);
  });

  it('revokes and the per-user cap wait too', async () => {
    const { all } = await nodes(2, { leaseMs: 2000 }, { ...OPTIONS, maxSessionsPerUser: 2 });
    const [a, b] = all as [Node, Node];
    const [s1, s2] = [generateSessionId(), generateSessionId()];
    const handle = await a.store.bindUser(s1, 'ada', {});
    await a.store.bindUser(s2, 'ada', {});
    await waitFor(async () => (await b.store.listUserSessions('ada')).length === 2);
    b.transport.hold(true);
    const one = a.store.revokeUserSession('ada', handle);
    assert.ok(await pendingAfter(one, 100), 'revoking one session waits for b');
    const all2 = a.store.revokeUserSessions('ada');
    assert.ok(await pendingAfter(all2, 100), 'revoking all waits for b');
    b.transport.hold(false);
    assert.equal(await one, true);
    assert.equal(await all2, 1);
    assert.deepEqual(await b.store.listUserSessions('ada'), []);
    // Past the per-user cap, a login ends the oldest session: that kill waits for b too.
    const [s3, s4, s5] = [generateSessionId(), generateSessionId(), generateSessionId()];
    await a.store.bindUser(s3, 'ada', {});
    await a.store.bindUser(s4, 'ada', {});
    await waitFor(async () => (await b.store.listUserSessions('ada')).length === 2);
    b.transport.hold(true);
    const login = a.store.bindUser(s5, 'ada', {});
    assert.ok(await pendingAfter(login, 100), 'the login that ends the oldest session waits for b');
    b.transport.hold(false);
    await login;
    assert.equal(await b.store.getValue(s3, 'k').catch(() => 'gone'), undefined);
    assert.equal((await b.store.listUserSessions('ada')).length, 2);
    await stopAll(all);
  });

  it('a peer silent past its lease plus drift no longer holds a logout', async () => {
    const lease = { leaseMs: 300, driftMs: 50 };
    const { all } = await nodes(2, lease);
    const [a, b] = all as [Node, Node];
    const id = generateSessionId();
    await a.store.setValue(id, 'user', 'ada');
    b.transport.stall(true);
    const started = performance.now();
    await a.store.deleteValue(id);
    assert.ok(performance.now() - started < lease.leaseMs + lease.driftMs + 1500);
    assert.doesNotMatch(a.logs.join('\n'), /suspect/, 'a silent peer is fenced, not suspect');
    await stopAll(all);
  });

  it('a peer that heartbeats but never confirms is logged as suspect and the logout completes after the lease plus the margin', async () => {
    const lease = { leaseMs: 300, driftMs: 50 };
    const { all } = await nodes(2, lease);
    const [a, b] = all as [Node, Node];
    const id = generateSessionId();
    await a.store.setValue(id, 'user', 'ada');
    b.transport.dropOutgoing = (frame) => frame.includes('"applied"');
    const started = performance.now();
    await a.store.deleteValue(id);
    const took = performance.now() - started;
    assert.ok(took >= lease.leaseMs + lease.driftMs - 20 && took < lease.leaseMs + lease.driftMs + 1500, `${took} ms`);
    assert.match(a.logs.join('\n'), /suspect peer\(s\) .*did not confirm a logout/);
    await stopAll(all);
  });

  it('a peer that stopped does not hold a logout', async () => {
    const { all } = await nodes(2, { leaseMs: 5000 });
    const [a, b] = all as [Node, Node];
    const id = generateSessionId();
    await a.store.setValue(id, 'user', 'ada');
    await b.store.stop();
    const started = performance.now();
    await a.store.deleteValue(id);
    assert.ok(performance.now() - started < 1000);
    await a.store.stop();
  });

  it('the old id of a rotation and plain writes do not wait for peers', async () => {
    const { all } = await nodes(2, { leaseMs: 5000 });
    const [a, b] = all as [Node, Node];
    const [id, next] = [generateSessionId(), generateSessionId()];
    await a.store.setValue(id, 'user', 'ada');
    b.transport.hold(true);
    const started = performance.now();
    await a.store.setValue(id, 'n', 1);
    await a.store.rotate(id, next);
    await a.store.bindUser(next, 'ada', {});
    assert.ok(performance.now() - started < 500);
    b.transport.hold(false);
    await stopAll(all);
  });
});

describe("replicated store: partition 'serve-stale'", () => {
  it('keeps serving when cut off, and a logout answers 503 while a peer is unreachable', async () => {
    const lease = { leaseMs: 300, driftMs: 50, partition: 'serve-stale' as const };
    const { all } = await nodes(2, lease);
    const [a, b] = all as [Node, Node];
    const id = generateSessionId();
    await a.store.setValue(id, 'user', 'ada');
    await waitFor(async () => (await b.store.getValue(id, 'user')) === 'ada');
    b.transport.stall(true);
    await sleep(lease.leaseMs + lease.driftMs + 100);
    assert.equal(await b.store.getValue(id, 'user'), 'ada', 'b serves what it holds');
    assert.equal(b.store.readiness().ready, true, 'serve-stale stays in the load balancer');
    await assert.rejects(a.store.deleteValue(id), { code: 'NOVA_ERR_SESSION_NODE_FENCED', status: 503 });
    assert.equal(await a.store.getValue(id, 'user'), undefined, 'recorded here all the same');
    b.transport.stall(false);
    await waitFor(async () => (await b.store.getValue(id, 'user').catch(() => 'error')) === undefined);
    const other = generateSessionId();
    await a.store.setValue(other, 'user', 'bob');
    await a.store.deleteValue(other); // every peer reachable again: confirmed as usual
    await stopAll(all);
  });
});

describe('replicated store: the read barrier never guesses "absent"', () => {
  it('an unknown id on a node cut off from the transport is 503, not "no session"', async () => {
    const { bus, all } = await nodes(2, { barrierTimeoutMs: 100 });
    const [a, b] = all as [Node, Node];
    const id = generateSessionId();
    await a.store.setValue(id, 'user', 'ada');
    await waitFor(async () => (await b.store.getValue(id, 'user')) === 'ada');
    bus.setDown(b.raw, true);
    const unknown = generateSessionId();
    await assert.rejects(b.store.getValue(unknown, 'user'), { code: 'NOVA_ERR_SESSION_NOT_CAUGHT_UP', status: 503 });
    await assert.rejects(b.store.userOf(unknown), { code: 'NOVA_ERR_SESSION_NOT_CAUGHT_UP' });
    await assert.rejects(b.store.revokeUserSession('ada', 'no-such-handle'), { code: 'NOVA_ERR_SESSION_NOT_CAUGHT_UP' });
    assert.equal(await b.store.getValue(id, 'user'), 'ada', 'a session it holds is served within the lease');
    bus.setDown(b.raw, false);
    await stopAll(all);
  });

  it('waits up to the barrier timeout for a reconnect, and finds a login made meanwhile', async () => {
    const { bus, all } = await nodes(2, { barrierTimeoutMs: 1000 });
    const [a, b] = all as [Node, Node];
    bus.setDown(b.raw, true);
    const id = generateSessionId();
    await a.store.setValue(id, 'user', 'ada'); // b misses it
    const read = b.store.getValue(id, 'user');
    await sleep(50);
    bus.setDown(b.raw, false); // reconnect: b catches up
    assert.equal(await read, 'ada');
    await stopAll(all);
  });
});
