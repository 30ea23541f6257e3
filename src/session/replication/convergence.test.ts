/**
 * The randomized model test: 3-5 nodes over a bus that delays, reorders, duplicates and drops
 * messages, under random concurrent set / delete / regenerate / expire / bind to a user / revoke all
 * of a user's sessions, with partitions (one node cut off silently for a while, then healed; every run has one that outlasts the lease; once
 * past its lease it must refuse every op, and it must serve again on its own after healing). After a resync every node must hold exactly the same state, and its live
 * sessions must equal what one store holds when it applies every issued edit in stamp order (last
 * writer wins; an edit to a rotated id follows it; a revoke-all ends every session that was ever
 * bound to the user under another handle than the excepted one).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { stallable, type StallableTransport } from '../../../test/helpers/stallable.js';
import { inProcessBus } from '../../pubsub/transports/in-process.js';
import type { Transport } from '../../pubsub/transport.js';
import { generateSessionId } from '../id.js';
import { compareStamps } from './hlc.js';
import type { Op } from './messages.js';
import type { BindingWire, RecordWire } from './records.js';
import { replicatedStore, type ReplicatedSessionStore } from './store.js';

const SECRET = 'convergence-test-secret-0123456789abcdef';
const SEEDS = Number(process.env.CONVERGENCE_SEEDS ?? 12);
const STEPS = 400;
/** Short, so partitions outlast a lease within a run; kills wait at most lease + drift for a lost ack. */
const LEASE = { leaseMs: 200, heartbeatMs: 20, driftMs: 40 };

/** mulberry32: a small seeded generator, so a failing seed can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every op a node publishes, read off the wire before the bus gets a chance to lose it. */
function recording(transport: Transport, log: Op[]): Transport {
  return {
    name: transport.name,
    start: () => transport.start(),
    stop: () => transport.stop(),
    subscribe: (channel, handler) => transport.subscribe(channel, handler),
    onReconnect: (listener) => transport.onReconnect(listener),
    publish(channel, message) {
      const body = (JSON.parse(message.slice(44)) as { b: { ops?: Op[] } }).b;
      if (Array.isArray(body.ops)) log.push(...body.ops);
      return transport.publish(channel, message);
    },
  };
}

interface ModelRecord {
  fields: Map<string, { text: string | null; t: number; n: string }>;
  killed: boolean;
  movedTo: string[];
  binding: BindingWire | undefined;
  /** Every bind it ever had: [userId, handle]. */
  bound: [string, string][];
}

/** The live view's entry for a session's binding; no session key has this name. */
const BINDING = ' binding';

/** One store applying every op in stamp order. Returns live id → visible keys and JSON texts. */
function model(log: Op[]): Map<string, Record<string, string>> {
  const stampOf = (op: Op) => {
    switch (op[0]) {
      case 's':
        return { t: op[4], n: op[5] };
      case 'k':
        return { t: op[2], n: op[3] };
      case 'r':
        return { t: op[3], n: op[4] };
      case 'b':
        return { t: op[2][5], n: op[2][6] };
      case 'x':
        return { t: op[3], n: op[4] };
      default:
        return { t: 0, n: '' };
    }
  };
  const ops = log.filter((op) => op[0] !== 'u').sort((a, b) => compareStamps(stampOf(a), stampOf(b)));
  const store = new Map<string, ModelRecord>();
  const get = (id: string) => {
    let r = store.get(id);
    if (r === undefined) store.set(id, (r = { fields: new Map(), killed: false, movedTo: [], binding: undefined, bound: [] }));
    return r;
  };
  const set = (id: string, key: string, text: string | null, t: number, n: string): void => {
    const r = get(id);
    if (r.killed) return;
    const old = r.fields.get(key);
    if (old === undefined || compareStamps(old, { t, n }) < 0) r.fields.set(key, { text, t, n });
    for (const next of r.movedTo) set(next, key, text, t, n); // a late edit follows the rotation
  };
  const kill = (id: string): void => {
    const r = get(id);
    if (r.killed) return;
    r.killed = true;
    for (const next of r.movedTo) kill(next);
  };
  // In stamp order every bind is either wholly before a revocation or wholly after it.
  const bind = (id: string, binding: BindingWire): void => {
    const r = get(id);
    if (r.killed) return;
    r.binding = binding;
    r.bound.push([binding[0], binding[1]]);
    for (const next of r.movedTo) bind(next, binding);
  };
  for (const op of ops) {
    if (op[0] === 's') set(op[1], op[2], op[3], op[4], op[5]);
    else if (op[0] === 'k') kill(op[1]);
    else if (op[0] === 'b') bind(op[1], op[2]);
    else if (op[0] === 'x') {
      const [, userId, except] = op;
      for (const [id, r] of store) if (r.bound.some(([u, h]) => u === userId && h !== except)) kill(id);
    } else if (op[0] === 'r') {
      const [, oldId, newId, , , , , fields] = op;
      for (const [key, text, t, n] of fields) set(oldId, key, text, t, n);
      const old = get(oldId);
      old.movedTo.push(newId);
      const target = get(newId);
      if (old.killed) kill(newId);
      else {
        for (const [key, f] of old.fields) set(newId, key, f.text, f.t, f.n);
        if (old.binding !== undefined) {
          if (target.binding === undefined || compareStamps({ t: target.binding[5], n: target.binding[6] }, { t: old.binding[5], n: old.binding[6] }) < 0)
            target.binding = old.binding;
          target.bound.push(...old.bound);
        }
      }
    }
  }
  const live = new Map<string, Record<string, string>>();
  for (const [id, r] of store) {
    if (r.killed || r.movedTo.length > 0) continue;
    live.set(id, withBinding(visible(r.fields), r.binding ?? null));
  }
  return live;
}

function withBinding(view: Record<string, string>, binding: BindingWire | null): Record<string, string> {
  if (binding !== null) view[BINDING] = JSON.stringify([binding[0], binding[1]]);
  return view;
}

function visible(fields: Iterable<[string, { text: string | null }]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, f] of [...fields].sort(([a], [b]) => (a < b ? -1 : 1))) if (f.text !== null) out[key] = f.text;
  return out;
}

/** A node's state, with node-local times (a tombstone's age) left out. */
function canonical(records: RecordWire[]): string[] {
  return records
    .map(([id, created, lastSeen, fields, killed, movedTo, binding, facts]) => {
      const live = killed === 0 && movedTo.length === 0;
      const f = [...fields].sort(([a], [b]) => (a < b ? -1 : 1));
      const userFacts = facts.map((x) => JSON.stringify(x)).sort();
      return JSON.stringify([id, killed, [...movedTo].sort(), killed === 1 ? [] : f, live ? [created, lastSeen] : [], binding, userFacts]);
    })
    .sort();
}

function liveView(records: RecordWire[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const [id, , , fields, killed, movedTo, binding] of records) {
    if (killed === 0 && movedTo.length === 0)
      out.set(id, withBinding(visible(fields.map(([k, text]) => [k, { text }] as [string, { text: string | null }])), binding));
  }
  return out;
}

/**
 * `lossy`: messages are also dropped, and the nodes resync at the end. Without loss no resync is
 * run, so the edits alone must converge (a resync would hide a bug in applying them).
 */
async function runSeed(
  seed: number,
  lossy: boolean,
): Promise<{ ops: number; live: number; dead: number; binds: number; revokes: number; partitions: number; fenced: number }> {
  const rand = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const bus = inProcessBus();
  const timers = new Set<NodeJS.Timeout>();
  bus.deliver = (send) => {
    const r = rand();
    if (lossy && r < 0.05) return; // dropped: only a resync can repair this
    const copies = r < 0.12 ? 2 : 1; // duplicated
    for (let i = 0; i < copies; i++) {
      const timer = setTimeout(() => (timers.delete(timer), send()), Math.floor(rand() * 4)); // delayed, so reordered
      timers.add(timer);
    }
  };
  let now = 1_700_000_000_000;
  const options = { idleTimeoutMs: 60_000, absoluteTimeoutMs: 3_600_000, touchIntervalMs: 5_000, maxSessionBytes: 4096, maxSessions: 100_000, now: () => now };
  const log: Op[] = [];
  const count = 3 + Math.floor(rand() * 3);
  const nodes: ReplicatedSessionStore[] = [];
  const links: StallableTransport[] = [];
  for (let i = 0; i < count; i++) {
    const link = stallable(bus.transport(), 20);
    // A catch-up gives up waiting for peers after joinTimeoutMs (alone): longer than the bus's delays.
    // Under loss a node is often catching up (a hole in a sender's numbers): ops wait for that
    // rather than being refused, so the run still issues edits.
    const settings = { ...LEASE, joinTimeoutMs: 50, barrierTimeoutMs: lossy ? 100 : 5, sweepIntervalMs: 3_600_000, repairDelayMs: 20, warn: () => {} };
    const node = replicatedStore({ transport: recording(link, log), secret: SECRET, ...settings });
    await node.start(options);
    nodes.push(node);
    links.push(link);
  }
  /** The node cut off now, and since when. */
  let cut: { i: number; since: number } | undefined;
  let partitions = 0;
  /** Partitions that outlasted the lease, and so had the fenced node checked. */
  let fenced = 0;
  const ids: string[] = [generateSessionId()];
  const keys = ['a', 'b', 'c', '__proto__'];
  const users = ['ada', 'bob', 'eve'];
  const handles: string[] = [];
  let binds = 0;
  let revokes = 0;
  // Fenced, unacknowledged and "could not confirm" are refusals, not wrong answers: what was
  // applied anyway is on the wire log and reaches everyone by catch-up.
  const expected = new Set([
    'NOVA_ERR_SESSION_GONE',
    'NOVA_ERR_SESSION_ID_INVALID',
    'NOVA_ERR_SESSION_NODE_FENCED',
    'NOVA_ERR_SESSION_NOT_CAUGHT_UP',
    'NOVA_ERR_PUBSUB_UNAVAILABLE',
  ]);

  for (let step = 0; step < STEPS; ) {
    // At least one partition per run, a quarter of the way in; others at random.
    if (cut === undefined && ((partitions === 0 && step >= STEPS / 4) || rand() < 0.02)) {
      cut = { i: Math.floor(rand() * nodes.length), since: performance.now() };
      links[cut.i]!.stall(true);
      partitions++;
    }
    // A burst of edits on random nodes, all in flight at once.
    const burst = 1 + Math.floor(rand() * 8);
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < burst; i++, step++) {
      const node = pick(nodes);
      // Mostly recent ids, so edits, rotations and deletes of one session often race each other.
      const id = rand() < 0.1 ? (ids.push(generateSessionId()), ids[ids.length - 1]!) : rand() < 0.8 ? pick(ids.slice(-6)) : pick(ids);
      const r = rand();
      if (r < 0.4) work.push(node.setValue(id, pick(keys), Math.floor(rand() * 1000)));
      else if (r < 0.48) work.push(node.deleteValue(id, pick(keys)));
      else if (r < 0.54) work.push(node.deleteValue(id));
      else if (r < 0.64) {
        binds++;
        work.push(node.bindUser(id, pick(users), { userAgent: `ua ${step}` }).then((handle) => handles.push(handle)));
      } else if (r < 0.67) {
        revokes++;
        // Half the time all but a recent handle (often another user's, or a dead session's).
        work.push(node.revokeUserSessions(pick(users), rand() < 0.5 && handles.length > 0 ? pick(handles.slice(-4)) : undefined));
      } else if (r < 0.77) {
        const fresh = generateSessionId();
        ids.push(fresh);
        work.push(node.rotate(id, fresh));
      } else if (r < 0.95) work.push(node.getValue(id, pick(keys)));
      else {
        now += Math.floor(rand() * 40_000); // time passes; some sessions go idle
        pick(nodes).expireNow();
      }
      now += Math.floor(rand() * 200);
    }
    for (const result of await Promise.allSettled(work)) {
      if (result.status === 'rejected' && !expected.has((result.reason as { code?: string }).code ?? '')) throw result.reason;
    }
    if (rand() < 0.1) await new Promise((r) => setTimeout(r, Math.floor(rand() * 5)));
    if (cut !== undefined && performance.now() - cut.since > LEASE.leaseMs + 30) await checkFenced();
  }
  // The run ended inside a partition: let it outlast the lease, so every seed checks a fenced node.
  if (cut !== undefined) {
    await new Promise((r) => setTimeout(r, Math.max(0, cut!.since + LEASE.leaseMs + 31 - performance.now())));
    await checkFenced();
  }

  // Past its lease: every op refused, not ready. Then healed: it comes back by itself.
  async function checkFenced(): Promise<void> {
    const node = nodes[cut!.i]!;
    await assert.rejects(node.getValue(pick(ids), 'a'), { code: 'NOVA_ERR_SESSION_NODE_FENCED' }, `seed ${seed}: a node past its lease answered a read`);
    await assert.rejects(node.setValue(pick(ids), 'a', 1), { code: 'NOVA_ERR_SESSION_NODE_FENCED' }, `seed ${seed}: a node past its lease took a write`);
    assert.equal(node.readiness().ready, false, `seed ${seed}: a fenced node reported ready`);
    links[cut!.i]!.stall(false);
    cut = undefined;
    fenced++;
  }

  // Heal: a reliable bus, the messages still in flight land, every node serves again (a node back
  // from a partition caught up by itself), then (after loss) every node resyncs.
  bus.deliver = (send) => queueMicrotask(send);
  while (timers.size > 0) await new Promise((r) => setTimeout(r, 5));
  for (let waited = 0; !nodes.every((n) => n.readiness().ready); waited += 5) {
    assert.ok(waited < 5000, `seed ${seed}: a node did not serve again after healing: ${nodes.map((n) => n.readiness().reason).join('; ')}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  if (lossy) for (const node of nodes) await node.resync();
  await new Promise((r) => setTimeout(r, 20));

  const states = nodes.map((n) => n.dump());
  const first = canonical(states[0]!);
  for (let i = 1; i < states.length; i++) assert.deepEqual(canonical(states[i]!), first, `seed ${seed}: node ${i} differs from node 0`);
  const expectedLive = model(log);
  assert.deepEqual(liveView(states[0]!), expectedLive, `seed ${seed}: the nodes differ from the single-store model`);
  for (const node of nodes) await node.stop();
  return { ops: log.length, live: expectedLive.size, dead: states[0]!.length - expectedLive.size, binds, revokes, partitions, fenced };
}

describe('replication converges under delay, reordering, duplication, loss and partitions', () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const lossy = seed % 2 === 0;
    it(`seed ${seed}${lossy ? ', with loss and resync' : ''}`, async (t) => {
      const { ops, live, dead, binds, revokes, partitions, fenced } = await runSeed(seed, lossy);
      // A guard against a vacuous run (every edit refused), not a throughput figure: how many edits
      // a node refuses while fenced or catching up depends on timing, and a loaded CI machine saw
      // seed 7 fall just under a third (typical runs issue 170-275 of the ~300 edits attempted).
      assert.ok(ops > STEPS / 5, `the run issued edits (${ops})`);
      assert.ok(binds > 0 && revokes > 0, 'the run bound sessions to users and revoked them');
      // Some seeds let every session go idle at the end; tombstones are always there.
      assert.ok(dead > 0, 'the run ended sessions (logout, rotation or expiry)');
      assert.ok(partitions > 0, 'the run cut a node off');
      assert.ok(fenced > 0, 'a partition outlasted the lease, and the fenced node was checked');
      t.diagnostic(
        `${ops} ops issued (${binds} binds, ${revokes} revoke-alls), ${partitions} partition(s), ${fenced} past the lease, ${live} live sessions, ${dead} tombstones`,
      );
    });
  }
});
