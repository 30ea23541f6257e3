// A node behind the cluster while its lease holds: a reconnect's catch-up, and messages lost silently (issue 11).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { generateSessionId } from '../id.js';
import { nodes, sleep, waitFor, type Node } from '../../../test/helpers/replica-nodes.js';
import { Sequences } from './sequence.js';

/** What a read answers: the value, or the error code. */
const read = (n: Node, id: string) => n.store.getValue(id, 'user').catch((err: { code: string }) => err.code);

/** Reads on `n` for `ms`: none may be served logged in. */
async function neverLoggedIn(n: Node, id: string, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    assert.notEqual(await read(n, id), 'ada', 'served a session whose logout had completed');
    await sleep(10);
  }
}

describe('replicated store: a reconnect within the lease', () => {
  it('while catching up, a known session is not served from memory: the read waits, then answers 503', async () => {
    const lease = { leaseMs: 600, driftMs: 50, barrierTimeoutMs: 150 };
    const { bus, all } = await nodes(2, lease);
    const [a, b] = all as [Node, Node];
    const id = generateSessionId();
    await a.store.setValue(id, 'user', 'ada');
    await a.store.bindUser(id, 'ada', {});
    await waitFor(async () => (await read(b, id)) === 'ada');

    bus.setDown(b.raw, true); // b misses the logout
    // a never answers b's catch-up: b hears a, so it stays not caught up.
    a.transport.dropOutgoing = (frame) => frame.includes('"here":');
    const logout = a.store.deleteValue(id);
    await sleep(320); // well within b's lease
    bus.setDown(b.raw, false); // reconnect: b starts catching up
    await logout; // b heartbeats again but never confirms: a suspect, and the logout completes
    assert.match(a.logs.join('\n'), /suspect peer\(s\)/);
    assert.equal(b.store.readiness().ready, false);
    assert.match(b.store.readiness().reason ?? '', /not caught up/);

    const started = performance.now();
    assert.equal(await read(b, id), 'NOVA_ERR_SESSION_NOT_CAUGHT_UP', 'b served the session from memory while catching up');
    assert.ok(performance.now() - started >= lease.barrierTimeoutMs - 20, 'the read waited for the catch-up first');
    await assert.rejects(b.store.setValue(id, 'user', 'eve'), { code: 'NOVA_ERR_SESSION_NOT_CAUGHT_UP', status: 503 });
    await assert.rejects(b.store.takeValue(id, 'user'), { code: 'NOVA_ERR_SESSION_NOT_CAUGHT_UP' });
    await assert.rejects(b.store.userOf(id), { code: 'NOVA_ERR_SESSION_NOT_CAUGHT_UP' });
    await assert.rejects(b.store.listUserSessions('ada'), { code: 'NOVA_ERR_SESSION_NOT_CAUGHT_UP' });
    await assert.rejects(b.store.bindUser(generateSessionId(), 'ada', {}), { code: 'NOVA_ERR_SESSION_NOT_CAUGHT_UP' });
    await neverLoggedIn(b, id, 200);

    // A read begun while catching up answers from the caught-up state once the catch-up ends in time.
    const pending = read(b, id);
    await sleep(20);
    a.transport.dropOutgoing = undefined;
    assert.equal(await pending, undefined);
    await waitFor(() => b.store.readiness().ready);
    assert.deepEqual(await b.store.listUserSessions('ada'), []);
    for (const n of all) await n.store.stop();
  });
});

describe('replicated store: messages lost while the lease holds', () => {
  it('a node that missed a logout for 200 ms finds the hole, catches up, and never serves it after the logout completed', async () => {
    const { all } = await nodes(2, { leaseMs: 600, driftMs: 50 });
    const [a, b] = all as [Node, Node];
    const id = generateSessionId();
    await a.store.setValue(id, 'user', 'ada');
    await waitFor(async () => (await read(b, id)) === 'ada');

    b.transport.dropIncoming = () => true; // everything, its own heartbeats too, but not for a lease
    const logout = a.store.deleteValue(id);
    await sleep(200);
    b.transport.dropIncoming = undefined;
    await logout;
    await neverLoggedIn(b, id, 300);
    await waitFor(() => b.store.readiness().ready, 2000);
    assert.equal(await read(b, id), undefined);
    assert.match(b.logs.join('\n'), /lost \d+ message\(s\)/);
    for (const n of all) await n.store.stop();
  });

  it('a lost logout followed only by heartbeats is found at the next heartbeat', async () => {
    const { all } = await nodes(3, { leaseMs: 600, driftMs: 50 });
    const [a, b, c] = all as [Node, Node, Node];
    const id = generateSessionId();
    await a.store.setValue(id, 'user', 'ada');
    await waitFor(async () => (await read(b, id)) === 'ada' && (await read(c, id)) === 'ada');

    b.transport.dropIncoming = (frame) => frame.includes('"confirm":'); // just the kill
    const started = performance.now();
    await a.store.deleteValue(id);
    b.transport.dropIncoming = undefined;
    // b does not confirm, so the logout took the lease plus the margin; b found the hole long before.
    assert.ok(performance.now() - started >= 600, 'b never confirmed');
    assert.match(b.logs.join('\n'), /lost 1 message\(s\) from /);
    await neverLoggedIn(b, id, 200);
    await waitFor(async () => (await read(b, id)) === undefined && b.store.readiness().ready, 2000);
    assert.equal(await read(c, id), undefined);
    for (const n of all) await n.store.stop();
  });

  it('reordering, duplicates and old numbers are not loss; a hole that stays open is, once', async () => {
    const losses: [string, number][] = [];
    const seq = new Sequences({ graceMs: 20, onLoss: (from, count) => losses.push([from, count]) });
    seq.data('p', 5); // first contact: a baseline, not a hole
    seq.data('p', 7);
    seq.data('p', 6); // late, within the grace
    seq.data('p', 6); // duplicate
    seq.upTo('p', 7); // a heartbeat: nothing missing
    await sleep(40);
    assert.deepEqual(losses, []);
    seq.upTo('p', 9); // 8 and 9 never came
    seq.data('p', 8);
    await sleep(40);
    assert.deepEqual(losses, [['p', 1]]);
    seq.forget('p'); // a peer that left: its numbers start afresh
    seq.data('p', 1);
    seq.data('p', 10_000); // too wide to wait for
    assert.deepEqual(losses, [
      ['p', 1],
      ['p', 9_998],
    ]);
    seq.clear();
  });
});
