// Sessions per user, hashed ids, takes and expiry events across replicating nodes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inProcessBus, type InProcessBus } from '../../pubsub/transports/in-process.js';
import type { Transport } from '../../pubsub/transport.js';
import { hashSessionId } from '../id-hash.js';
import { generateSessionId } from '../id.js';
import type { SessionStoreOptions } from '../store.js';
import { replicatedStore, type ReplicatedSessionStore } from './store.js';

const SECRET = 'replication-users-secret-0123456789abcdef';
const OPTIONS: SessionStoreOptions = { idleTimeoutMs: 60_000, absoluteTimeoutMs: 600_000, touchIntervalMs: 1000, maxSessionBytes: 4096, maxSessions: 1000 };

/** Every frame a transport publishes, on any channel (shared, direct, pings), as sent. */
function capturing(transport: Transport, frames: string[]): Transport {
  return {
    name: transport.name,
    start: () => transport.start(),
    stop: () => transport.stop(),
    subscribe: (channel, handler) => transport.subscribe(channel, handler),
    onReconnect: (listener) => transport.onReconnect(listener),
    publish(channel, message) {
      frames.push(message);
      return transport.publish(channel, message);
    },
  };
}

/** A node on `bus`; with `frames`, what it sends is captured (and the bus cannot cut it off). */
function node(bus: InProcessBus, frames?: string[], lease?: { leaseMs: number; driftMs: number }): ReplicatedSessionStore {
  const transport = frames === undefined ? bus.transport() : capturing(bus.transport(), frames);
  return replicatedStore({ transport, secret: SECRET, joinTimeoutMs: 20, ...lease });
}

async function cluster(
  count: number,
  options: SessionStoreOptions = OPTIONS,
  frames?: string[],
  lease?: { leaseMs: number; driftMs: number },
): Promise<{ bus: InProcessBus; nodes: ReplicatedSessionStore[] }> {
  const bus = inProcessBus();
  const nodes: ReplicatedSessionStore[] = [];
  for (let i = 0; i < count; i++) {
    const n = node(bus, frames, lease);
    await n.start(options);
    nodes.push(n);
  }
  return { bus, nodes };
}

const settle = () => new Promise((r) => setTimeout(r, 10));
const stopAll = async (nodes: ReplicatedSessionStore[]) => {
  for (const n of nodes) await n.stop();
};
const downOf = (n: ReplicatedSessionStore) => (n as unknown as { bus: { options: { transport: Transport } } }).bus.options.transport;

describe('replicated memory store: hashed ids', () => {
  it("no raw id in any frame it sends (ops, state transfer, pings) nor in any node's memory", async () => {
    const frames: string[] = [];
    const { bus, nodes } = await cluster(2, OPTIONS, frames);
    const [a, b] = nodes as [ReplicatedSessionStore, ReplicatedSessionStore];
    const ids = Array.from({ length: 6 }, () => generateSessionId());
    const [s1, s2, s3, s4, rotated, unknown] = ids as [string, string, string, string, string, string];
    await a.setValue(s1, 'user', 'ada');
    await a.setValue(s1, 'flash', 'saved');
    const handle = await b.bindUser(s1, 'ada', { userAgent: 'ua' });
    await b.rotate(s1, rotated);
    assert.equal(await a.takeValue(rotated, 'flash'), 'saved');
    await a.bindUser(s2, 'ada', {});
    await a.bindUser(s3, 'bob', {});
    await a.setValue(s4, 'k', 1);
    await b.deleteValue(s4);
    assert.equal(await b.getValue(unknown, 'k'), undefined); // a read barrier ping
    const late = node(bus, frames); // a state transfer
    await late.start(OPTIONS);
    assert.deepEqual(await late.userOf(rotated), { userId: 'ada', handle });
    assert.equal(await late.revokeUserSession('bob', (await late.listUserSessions('bob'))[0]!.handle), true);
    assert.equal(await b.revokeUserSessions('ada', handle), 1);
    await settle();

    const everything = [...frames, ...[a, b, late].map((n) => JSON.stringify(n.dump()))].join('\n');
    for (const id of ids) assert.ok(!everything.includes(id), 'a raw id was sent or kept');
    // The frames do carry the sessions, by hash: the check above looked at the right traffic.
    for (const id of [s1, rotated, s2, s3, s4])
      assert.ok(
        frames.some((f) => f.includes(hashSessionId(id))),
        'sessions travel by hash',
      );
    assert.ok(frames.some((f) => f.includes('"records"')) && frames.some((f) => f.includes('"ping"')));
    await stopAll([a, b, late]);
  });
});

describe('replicated memory store: sessions per user', () => {
  it('revoke-others on node A ends the sessions on B and C, and lists nothing else there', async () => {
    const { nodes } = await cluster(3);
    const [a, b, c] = nodes as [ReplicatedSessionStore, ReplicatedSessionStore, ReplicatedSessionStore];
    const [mine, other1, other2] = [generateSessionId(), generateSessionId(), generateSessionId()];
    const handle = await a.bindUser(mine, 'ada', {});
    await b.bindUser(other1, 'ada', {});
    await c.bindUser(other2, 'ada', {});
    await settle();
    assert.equal(await a.revokeUserSessions('ada', handle), 2);
    await settle();
    for (const n of nodes) {
      assert.deepEqual(
        (await n.listUserSessions('ada')).map((x) => x.handle),
        [handle],
      );
      assert.equal(await n.userOf(other1), undefined);
      assert.equal(await n.userOf(other2), undefined);
      await assert.rejects(n.setValue(other2, 'k', 1), { code: 'NOVA_ERR_SESSION_GONE' });
    }
    await stopAll(nodes);
  });

  it('a bind held back while another node revokes all is dead on every node once delivered', async () => {
    const { bus, nodes } = await cluster(3);
    const [a, b, c] = nodes as [ReplicatedSessionStore, ReplicatedSessionStore, ReplicatedSessionStore];
    const early = generateSessionId();
    await b.bindUser(early, 'ada', {}); // known everywhere: shows the revoke itself went through
    await settle();
    // Hold back the edits a sends (its heartbeats and confirmations flow); the others' messages flow.
    const held: (() => void)[] = [];
    const deliver = bus.deliver;
    const fromA = downOf(a);
    const publish = fromA.publish.bind(fromA);
    let holding = true;
    fromA.publish = (channel, message) => {
      if (!holding || !message.includes('"ops"')) return publish(channel, message);
      return new Promise<void>((resolve, reject) => held.push(() => void publish(channel, message).then(resolve, reject)));
    };
    const inFlight = generateSessionId();
    const login = a.bindUser(inFlight, 'ada', {}); // applied on a, its message held back
    await settle();
    assert.equal(await b.revokeUserSessions('ada'), 1, 'b counts only what it knows');
    await settle();
    assert.equal(await a.getValue(inFlight, 'k'), undefined);
    assert.equal(await a.userOf(inFlight), undefined, 'a applied the revoke: the bind it made before is dead');
    holding = false;
    for (const send of held) send();
    await login;
    await settle();
    bus.deliver = deliver;
    for (const n of nodes) {
      assert.equal(await n.userOf(inFlight), undefined);
      assert.deepEqual(await n.listUserSessions('ada'), []);
      await assert.rejects(n.setValue(inFlight, 'k', 1), { code: 'NOVA_ERR_SESSION_GONE' });
    }
    assert.equal(c.liveSessions, 0);
    await stopAll(nodes);
  });

  it('a session only a cut-off node knows dies when it comes back after a revoke-all', async () => {
    // A short lease: a's revoke waits for c until c is silent past it.
    const { bus, nodes } = await cluster(2, OPTIONS, undefined, { leaseMs: 300, driftMs: 50 });
    const [a, c] = nodes as [ReplicatedSessionStore, ReplicatedSessionStore];
    bus.setDown(downOf(c) as never, true);
    const hidden = generateSessionId();
    await assert.rejects(c.bindUser(hidden, 'ada', {}), { code: 'NOVA_ERR_PUBSUB_UNAVAILABLE' }); // applied on c only
    assert.equal(c.liveSessions, 1);
    // Cut off, c cannot tell whether its list is complete: an error, not a short list.
    await assert.rejects(c.listUserSessions('ada'), { code: 'NOVA_ERR_SESSION_NOT_CAUGHT_UP' });
    // Later on the clock than the bind: within one millisecond the two nodes' clocks order them arbitrarily.
    await new Promise((r) => setTimeout(r, 3));
    await a.revokeUserSessions('ada');
    bus.setDown(downOf(c) as never, false); // c resyncs: the stamp reaches c, the record reaches a
    await waitFor(async () => (await c.listUserSessions('ada').catch(() => [undefined])).length === 0); // fenced until caught up
    assert.equal(await c.getValue(hidden, 'k'), undefined);
    assert.equal(a.liveSessions, 0);
    await stopAll(nodes);
  });

  it('forgets users whose sessions all ended, and revocation stamps after the absolute timeout', async () => {
    let t = 1_700_000_000_000;
    const { nodes } = await cluster(2, { ...OPTIONS, now: () => t });
    const [a, b] = nodes as [ReplicatedSessionStore, ReplicatedSessionStore];
    const [s1, s2] = [generateSessionId(), generateSessionId()];
    await a.bindUser(s1, 'ada', {});
    await a.bindUser(s2, 'bob', {});
    await a.revokeUserSessions('ada');
    await a.deleteValue(s2);
    await settle();
    for (const n of nodes) assert.equal(n.indexedUsers, 0);
    const stamps = (n: ReplicatedSessionStore) =>
      [...(n as unknown as { state: { revocations: { wire(): Iterable<unknown> } } }).state.revocations.wire()].length;
    assert.equal(stamps(b), 1, 'the stamp is kept while a session bound before it could live');
    t += OPTIONS.absoluteTimeoutMs + 1;
    b.expireNow();
    assert.equal(stamps(b), 0);
    await stopAll(nodes);
  });
});

describe('replicated memory store: take and expiry events', () => {
  it('a take deletes the key on every node', async () => {
    const { nodes } = await cluster(2);
    const [a, b] = nodes as [ReplicatedSessionStore, ReplicatedSessionStore];
    const s = generateSessionId();
    await a.setValue(s, 'flash', 'hi');
    await settle();
    assert.equal(await b.takeValue(s, 'flash'), 'hi');
    await settle();
    assert.equal(await a.getValue(s, 'flash'), undefined);
    assert.equal(await a.takeValue(s, 'flash'), undefined);
    await stopAll(nodes);
  });

  it('reports expiry found by the sweeper and by a read, with the hash and the user, and survives a throwing hook', async () => {
    let t = 1_700_000_000_000;
    const seen: [string, string | undefined][] = [];
    const onExpired = (hash: string, userId: string | undefined) => {
      seen.push([hash, userId]);
      throw new Error('a broken hook');
    };
    const warnings: string[] = [];
    const bus = inProcessBus();
    const a = replicatedStore({ transport: bus.transport(), secret: SECRET, joinTimeoutMs: 20, warn: (m) => warnings.push(m) });
    await a.start({ ...OPTIONS, now: () => t, onExpired });
    const [swept, read] = [generateSessionId(), generateSessionId()];
    await a.bindUser(swept, 'ada', {});
    await a.setValue(read, 'k', 1);
    t += OPTIONS.idleTimeoutMs;
    assert.equal(await a.getValue(read, 'k'), undefined);
    assert.deepEqual(seen, [[hashSessionId(read), undefined]]);
    assert.equal(a.expireNow(), 1);
    assert.deepEqual(seen[1], [hashSessionId(swept), 'ada']);
    assert.equal(seen.length, 2);
    assert.match(warnings.join('\n'), /onExpired threw: a broken hook/);
    await a.stop();
  });
});

async function waitFor(check: () => Promise<boolean>, limitMs = 3000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
