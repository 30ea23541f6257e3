/**
 * The replicated memory store (Nova's `nova_session_ets` over `nova_pubsub`, with its gaps
 * closed): each node keeps every session in memory and reads at memory speed; each write is applied
 * here, published, and acknowledged by the transport before it resolves; a node that joins late or
 * comes back from a transport outage pulls its peers' state. Conflict rules are in `records.ts`.
 *
 * Ids are hashed at rest: every public method turns the id into `hashSessionId(id)` first, and the
 * bus, the state transfer and every node's memory hold only that. Sessions per user: see
 * `users-index.ts`.
 */
import { performance } from 'node:perf_hooks';
import { errors } from '../../errors.js';
import type { Json } from '../../results/result.js';
import { Bus } from '../../pubsub/bus.js';
import type { Unsubscribe } from '../../pubsub/transport.js';
import { hashSessionId } from '../id-hash.js';
import { ownCopy } from '../stores/memory-bytes.js';
import {
  checkStoreOptions,
  encodeSessionValue,
  entryBytes,
  storeUnavailable,
  type CheckedStoreOptions,
  type SessionStoreOptions,
  type StoreReadiness,
} from '../store.js';
import type { SessionMeta, SessionOwner, UserSessionInfo } from '../users.js';
import { ReadBarrier } from './barrier.js';
import { batches } from './batches.js';
import { HybridClock, TICKS_PER_MS } from './hlc.js';
import { Kills } from './kills.js';
import { Lease } from './lease.js';
import { CatchUp } from './catchup.js';
import { isOp, type Message, type Op } from './messages.js';
import { Sequences } from './sequence.js';
import { fieldBytes, RECORD_BYTES } from './record-bytes.js';
import { isLive, ReplicaState, type FieldWire, type RecordWire, type SessionRecord } from './records.js';
import {
  appSecrets,
  checkId,
  checkTimings,
  hashOf,
  notCaughtUp,
  type AppSecretsHook,
  type ReplicatedSessionStore,
  type ReplicatedStoreOptions,
  type ReplicationSettings,
} from './types.js';
import { UserSessions, type StoreCore } from './user-sessions.js';

export type { ReplicatedSessionStore, ReplicatedStoreOptions } from './types.js';

/** The members `StoreCore` names are public here for `user-sessions.ts`; the factory's type hides them. */
class ReplicatedStore implements ReplicatedSessionStore, StoreCore, AppSecretsHook {
  readonly name = 'replicated-memory';
  private readonly bus: Bus;
  readonly state = new ReplicaState(() => this.now());
  private clock: HybridClock;
  options: CheckedStoreOptions = checkStoreOptions();
  private now: () => number = Date.now;
  private running = false;
  private subscriptions: Unsubscribe[] = [];
  private outbox: Op[] = [];
  private sending: Promise<void> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweepCursor: Iterator<SessionRecord> | undefined;
  private readonly pings: ReadBarrier;
  private repair: NodeJS.Timeout | undefined;
  private listening = false;
  private readonly users = new UserSessions(this);
  /** Catch-up by difference after a start, reconnect or failed publish (catchup.ts). */
  private readonly catchUp: CatchUp;
  /** Whether this node may answer, and which peers are alive (lease.ts). */
  private readonly lease: Lease;
  private readonly kills: Kills;
  /** Numbers on the shared channel, to find lost messages (sequence.ts). */
  private readonly seq: Sequences;
  private evicted = 0;

  constructor(private readonly settings: ReplicationSettings) {
    this.bus = new Bus({ transport: settings.transport, secret: settings.secret, cluster: settings.cluster, warn: settings.warn });
    this.clock = new HybridClock(this.bus.node);
    this.pings = new ReadBarrier((k) => this.bus.publish(`sessions.${this.node}`, { ping: k } satisfies Message), settings.barrierTimeoutMs);
    const log = (message: string) => this.warn(message);
    const sendBeat = (k: number) => this.bus.publish('sessions', { beat: k, q: this.seq.last } satisfies Message);
    const onLoss = () => this.running && this.background(this.lease.catchUp(), 'catching up after lost messages');
    // The grace is well short of a heartbeat: a reordering bus fills its holes within milliseconds.
    this.seq = new Sequences({ graceMs: Math.min(settings.heartbeatMs / 2, 50), onLoss, self: this.node, warn: log });
    this.lease = new Lease({ ...settings, sendBeat, resync: () => this.resync(), log });
    const store = this;
    this.catchUp = new CatchUp({
      node: this.node,
      state: this.state,
      ...settings,
      get running() {
        return store.running;
      },
      livePeers: () => this.lease.livePeers(),
      knowsPeers: () => this.lease.livePeers().length + this.lease.unreachablePeers().length > 0,
      publish: (channel, message) => (channel === 'sessions' ? this.shared(message) : this.bus.publish(channel, message)),
      observe: (t) => this.clock.observe(t),
      warn: log,
    });
    const publish = (message: Message) => this.shared(message).catch((err: unknown) => (this.failed('ops' in message ? message.ops : []), Promise.reject(err)));
    this.kills = new Kills({ ...settings, lease: this.lease, publish, warn: log });
  }

  get node(): string {
    return this.bus.node;
  }

  [appSecrets](secrets: readonly string[]): 'adopted' | 'same' | 'different' {
    const own = this.settings.secret;
    if (own === undefined) {
      if (!this.bus.hasSecret) this.bus.useSecret(secrets);
      return 'adopted';
    }
    return sameSecrets(own, secrets) ? 'same' : 'different';
  }
  get liveSessions(): number {
    return this.state.live;
  }
  get size(): number {
    return this.state.records.size;
  }
  get indexedUsers(): number {
    return this.state.users.users;
  }
  get bytes(): number {
    return this.state.bytes;
  }
  get evictions(): number {
    return this.evicted;
  }

  async start(options: SessionStoreOptions): Promise<void> {
    this.options = checkStoreOptions(options);
    this.now = this.options.now ?? Date.now;
    this.clock = new HybridClock(this.bus.node, this.now);
    await this.bus.start();
    this.subscriptions = [
      await this.bus.subscribe('sessions', (body, from) => this.receive(body, from, false)),
      await this.bus.subscribe(`sessions.${this.node}`, (body, from) => this.receive(body, from, true)),
    ];
    this.seq.clear();
    this.running = true;
    if (!this.listening) {
      this.listening = true; // transports keep their listeners: register once, however often started
      this.bus.onReconnect(() => this.running && this.background(this.lease.catchUp(), 'resync after reconnect'));
    }
    clearInterval(this.sweepTimer);
    this.sweepTimer = setInterval(() => this.sweep(1), this.settings.sweepIntervalMs).unref();
    await this.lease.start(); // first heartbeat back, then caught up (resync)
  }

  async stop(): Promise<void> {
    // Peers stop waiting for our confirmations; not worth more than a moment if the transport is down.
    if (this.running) await Promise.race([this.shared({ bye: true }).catch(() => {}), new Promise((r) => setTimeout(r, 250).unref())]);
    this.running = false;
    this.lease.stop();
    this.kills.stop();
    this.catchUp.stop();
    clearInterval(this.sweepTimer);
    clearTimeout(this.repair);
    this.repair = undefined;
    await Promise.allSettled(this.subscriptions.map((off) => off()));
    this.subscriptions = [];
    await this.bus.stop();
  }

  async getValue(id: string, key: string): Promise<Json | undefined> {
    const record = await this.lookup(hashOf(id));
    if (record === undefined || !isLive(record)) return undefined;
    this.touch(record);
    const text = record.fields.get(key)?.text;
    return text === undefined || text === null ? undefined : (JSON.parse(text) as Json);
  }

  async setValue(id: string, key: string, value: Json): Promise<void> {
    const now = this.lease.behind ? await this.settled() : this.ready();
    checkId(id);
    const text = encodeSessionValue(key, value);
    const added = entryBytes(key, text);
    const limit = this.options.maxSessionBytes;
    const h = hashSessionId(id);
    // No barrier for an unknown id: if it died elsewhere, that tombstone still wins when it lands.
    const record = this.writable(h, now, added);
    const field = record?.fields.get(key);
    if (record !== undefined) {
      const old = field?.text;
      const bytes = record.bytes - (old === undefined || old === null ? 0 : entryBytes(key, old)) + added;
      if (bytes > limit) throw errors.sessionTooLarge(bytes, limit);
    }
    const growth = (record === undefined ? RECORD_BYTES : 0) + fieldBytes(key, text) - (field === undefined ? 0 : fieldBytes(key, field.text));
    this.reserve(growth, record === undefined, h);
    // A copy: the caller's key may be a slice of a request body, which it would keep alive.
    await this.issue(['s', h, field === undefined ? ownCopy(key) : key, text, ...this.stamp(), ...this.times(record, now)]);
  }

  async deleteValue(id: string, key?: string): Promise<void> {
    // A logout acts at once even while catching up: ending a session is final and always safe.
    const now = key !== undefined && this.lease.behind ? await this.settled() : this.ready();
    const h = hashOf(id);
    let record = this.find(h, now);
    if (record === undefined) {
      const caughtUp = await this.barrier();
      record = this.find(h, this.ready());
      // Unknown ids get nothing, as in every store: an anonymous logout records nothing. But if
      // the barrier could not confirm we are up to date, the session may exist elsewhere: a
      // logout must not be lost, so it is recorded and sent anyway (tombstones are capped).
      if (record === undefined && key === undefined && !caughtUp) return this.kill(['k', h, ...this.stamp(), now]);
    }
    if (record === undefined || !isLive(record)) return;
    if (key === undefined) return this.kill(['k', h, ...this.stamp(), record.created]);
    await this.issue(['s', h, key, null, ...this.stamp(), record.created, record.lastSeen]);
  }

  async rotate(oldId: string, newId: string): Promise<void> {
    checkId(newId);
    const [from, to] = [hashOf(oldId), hashSessionId(newId)];
    if (this.state.get(to) !== undefined) throw errors.sessionIdInvalid('the new id is already in use');
    const record = await this.lookup(from);
    if (record === undefined) return;
    if (!isLive(record)) throw errors.sessionGone();
    this.reserve(RECORD_BYTES + record.heap, false, from); // the old id keeps its keys (records.ts)
    const fields: FieldWire[] = [];
    for (const [key, f] of record.fields) fields.push([key, f.text, f.t, f.n]);
    const binding = record.binding === undefined ? null : record.binding;
    await this.issue(['r', from, to, ...this.stamp(), record.created, this.ready(), fields, binding, record.facts]);
  }

  async takeValue(id: string, key: string): Promise<Json | undefined> {
    const record = await this.lookup(hashOf(id));
    if (record === undefined || !isLive(record)) return undefined;
    this.touch(record);
    const text = record.fields.get(key)?.text;
    if (text === undefined || text === null) return undefined;
    // Deleted here in the same turn as the read, so of concurrent takes on this node one gets it.
    // Peers learn of it a message later: a take on another node meanwhile also gets it.
    const sent = this.issue(['s', record.id, key, null, ...this.stamp(), record.created, record.lastSeen]);
    // Once taken here the value is gone here: handing it out beats losing it to a failed publish,
    // which the repair resync delivers later.
    await sent.catch((err: unknown) => this.warn(`publishing a take failed: ${(err as Error).message}`));
    return JSON.parse(text) as Json;
  }

  // ---- sessions per user (user-sessions.ts) ----

  bindUser(id: string, userId: string, meta: SessionMeta): Promise<string> {
    return this.users.bindUser(id, userId, meta);
  }
  userOf(id: string): Promise<SessionOwner | undefined> {
    return this.users.userOf(id);
  }
  listUserSessions(userId: string): Promise<UserSessionInfo[]> {
    return this.users.listUserSessions(userId);
  }
  revokeUserSession(userId: string, handle: string): Promise<boolean> {
    return this.users.revokeUserSession(userId, handle);
  }
  revokeUserSessions(userId: string, exceptHandle?: string): Promise<number> {
    return this.users.revokeUserSessions(userId, exceptHandle);
  }

  /** Catch up with the cluster (catchup.ts); resolves once caught up. */
  async resync(): Promise<void> {
    if (!this.running) return;
    await this.catchUp.resync();
  }

  /** False from a start or reconnect until this node has caught up with the cluster. */
  get caughtUp(): boolean {
    return this.running && this.catchUp.caughtUp;
  }

  expireNow(): number {
    const before = this.state.live;
    this.sweepCursor = undefined;
    this.sweep(Infinity);
    return before - this.state.live;
  }

  dump(): RecordWire[] {
    return [...this.state.wire()];
  }

  /**
   * The record a write to `h` goes to (undefined: a new session), after the checks every write
   * makes: a dead id is gone, a new session must fit and find room.
   */
  writable(h: string, now: number, bytes: number): SessionRecord | undefined {
    const record = this.find(h, now);
    if (record !== undefined) {
      if (!isLive(record)) throw errors.sessionGone();
      return record;
    }
    if (bytes > this.options.maxSessionBytes) throw errors.sessionTooLarge(bytes, this.options.maxSessionBytes);
    return undefined;
  }

  /**
   * Make room for a write made here that adds `growth` bytes (and a session when `fresh`), or
   * refuse it with `NOVA_ERR_SESSION_STORE_FULL`. Expired sessions go first, then sessions tied to
   * no user, in the order this node heard of them, never `keep` (the hashed id being written);
   * sessions tied to a user are never evicted. Tombstones are not forgotten early, as the memory
   * store does: here they are what keeps nodes converging. Writes from peers never come here.
   */
  reserve(growth: number, fresh: boolean, keep: string | undefined): void {
    const { maxSessions, maxStoreBytes } = this.options;
    const countFull = () => fresh && this.state.live >= maxSessions;
    const bytesFull = () => growth > 0 && this.state.bytes + growth > maxStoreBytes;
    if (!countFull() && !bytesFull()) return;
    this.sweep(1);
    if (keep !== undefined && this.state.get(keep) !== undefined && !isLive(this.state.get(keep)!)) throw errors.sessionGone();
    while (countFull()) if (!this.evictAnonymous(keep)) throw errors.sessionStoreFull(maxSessions, 'sessions');
    while (bytesFull()) if (!this.evictAnonymous(keep)) throw errors.sessionStoreFull(maxStoreBytes, 'bytes');
  }

  /** End the oldest live session tied to no user (not `keep`) everywhere, as an expiry does; false when there is none. */
  private evictAnonymous(keep: string | undefined): boolean {
    const queue = this.state.arrivals;
    let kept: SessionRecord | undefined;
    let evicted = false;
    for (let r = queue.entry; r !== undefined; r = queue.entry) {
      queue.shift();
      if (!this.state.anonymous(r)) continue;
      if (r.id === keep) {
        kept = r;
        continue;
      }
      const op: Op = ['k', r.id, ...this.stamp(), r.created];
      this.apply(op);
      this.background(this.send(op), 'publishing an eviction');
      this.evicted++;
      evicted = true;
      break;
    }
    if (kept !== undefined) queue.push(kept, this.now()); // in use: to the back
    return evicted;
  }

  /** `[created, lastSeen]` for a write: a write is use, rewritten past the touch interval. */
  times(record: SessionRecord | undefined, now: number): [number, number] {
    if (record === undefined) return [now, now];
    return [record.created, now - record.lastSeen >= this.options.touchIntervalMs ? now : record.lastSeen];
  }

  stamp(): [number, string] {
    const { t, n } = this.clock.stamp();
    return [t, n];
  }

  /** Apply kills (logout, revoke) here, then publish them; resolves once every live peer applied them. */
  kill(...ops: Op[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    for (const op of ops) this.apply(op);
    return this.kills.confirm(ops);
  }

  /** Apply an edit here, then publish it; resolves when the transport acknowledged it. */
  issue(op: Op): Promise<void> {
    this.apply(op);
    return this.send(op);
  }

  // Edits made in one turn of the event loop go out as one message and share one acknowledgement.
  private send(op: Op): Promise<void> {
    this.outbox.push(op);
    this.sending ??= Promise.resolve().then(() => {
      const ops = this.outbox;
      this.outbox = [];
      this.sending = undefined;
      const sends = [...batches(ops)].map((run) => this.shared({ ops: run }));
      return Promise.all(sends).then(
        () => undefined,
        (err: unknown) => {
          this.failed(ops);
          throw err;
        },
      );
    });
    return this.sending;
  }

  /** Applied here but not confirmed there: the next catch-up sends them to everyone, and one comes soon. */
  private failed(ops: readonly Op[]): void {
    this.catchUp.unconfirmed(ops);
    this.repairSoon();
  }

  /**
   * After a publish the transport refused or never acknowledged (a timeout without a disconnect,
   * an error reply), the other nodes may lack edits this node has applied; no reconnect will come
   * to trigger a resync, so schedule one, and again until one succeeds.
   */
  private repairSoon(): void {
    if (this.repair !== undefined || !this.running) return;
    this.repair = setTimeout(() => {
      this.repair = undefined;
      this.resync().catch(() => this.repairSoon());
    }, this.settings.repairDelayMs).unref();
  }

  /** Publish on the shared channel with this node's next number (sequence.ts). */
  private shared(message: Message): Promise<void> {
    return this.bus.publish('sessions', { ...message, q: this.seq.next() });
  }

  private background(work: Promise<unknown>, what: string): void {
    work.catch((err: unknown) => this.warn(`${what} failed: ${(err as Error).message}`));
  }

  private warn(message: string): void {
    (this.settings.warn ?? console.warn)(`nova-ts replication: ${message}`);
  }

  ready(): number {
    if (!this.running) throw storeUnavailable('the replicated store is not running (call start() first)');
    this.lease.check(); // per call, on the monotonic clock: a node resumed from a pause re-checks here
    return this.now();
  }

  get behind(): boolean {
    return this.lease.behind;
  }

  /** `ready()`, after the catch-up under way if any (`Lease.behind`): 503 if it is not done in time. */
  async settled(): Promise<number> {
    this.ready();
    if (this.lease.behind) await this.lease.settle(this.settings.barrierTimeoutMs);
    return this.ready();
  }

  readiness(): StoreReadiness {
    return this.running ? this.lease.readiness() : { ready: false, reason: 'the session store is stopped' };
  }

  /**
   * The record for `id`; an unknown id first waits for edits already in flight (see `barrier`),
   * and is an error, never "no session", when this node could not confirm it is caught up.
   */
  async lookup(id: string): Promise<SessionRecord | undefined> {
    const record = this.find(id, this.lease.behind ? await this.settled() : this.ready());
    if (record !== undefined) return record;
    const confirmed = await this.barrier();
    const found = this.find(id, this.ready());
    if (found === undefined && !confirmed) throw notCaughtUp();
    return found;
  }

  /** The record, after ending it (and telling the peers) if its time is up. */
  find(id: string, now: number): SessionRecord | undefined {
    const record = this.state.get(id);
    if (record !== undefined && isLive(record) && this.expired(record, now)) this.expire(record);
    return record;
  }

  private expired(record: SessionRecord, now: number): boolean {
    return now >= record.created + this.options.absoluteTimeoutMs || now >= record.lastSeen + this.options.idleTimeoutMs;
  }

  /** End a session whose time is up, tell the peers, and report it (`onExpired`) from this node. */
  private expire(record: SessionRecord): void {
    const userId = record.binding?.[0];
    const op: Op = ['k', record.id, ...this.stamp(), record.created];
    this.apply(op);
    this.background(this.send(op), 'publishing an expiry');
    try {
      this.options.onExpired?.(record.id, userId); // the id is already the hash
    } catch (err) {
      this.warn(`onExpired threw: ${(err as Error).message}`);
    }
  }

  private touch(record: SessionRecord): void {
    const now = this.now();
    if (now - record.lastSeen < this.options.touchIntervalMs) return;
    const op: Op = ['u', record.id, now];
    this.apply(op);
    this.background(this.send(op), 'publishing a touch');
  }

  /**
   * Wait for edits already in flight (see `barrier.ts`) and for a catch-up under way, within the
   * barrier timeout; false when this node could not confirm it is up to date.
   */
  barrier(): Promise<boolean> {
    const until = performance.now() + this.settings.barrierTimeoutMs;
    // A plain boolean when caught up (the usual case): no second promise per read of an unknown id.
    return this.pings.wait().then((ok) => ok && (this.lease.isCaughtUp() || this.lease.whenCaughtUp(until - performance.now())));
  }

  // ---- edits from anywhere ----

  private apply(op: Op): void {
    switch (op[0]) {
      case 's':
        this.clock.observe(op[4]);
        return this.state.set(op[1], op[2], op[3], { t: op[4], n: op[5] }, op[6], op[7]);
      case 'k':
        this.clock.observe(op[2]);
        return this.state.kill(op[1], op[4]);
      case 'r':
        this.clock.observe(op[3]);
        return this.state.rotate(op[1], op[2], op[7], op[5], op[6], op[8], op[9]);
      case 'u':
        return this.state.touch(op[1], op[2]);
      case 'b':
        this.clock.observe(op[2][5]);
        return this.state.bind(op[1], op[2], op[3], op[4]);
      case 'x':
        this.clock.observe(op[3]);
        return this.state.revoke([op[1], op[3], op[2]]);
    }
  }

  private receive(body: unknown, from: string, direct: boolean): void {
    if (!this.running || typeof body !== 'object' || body === null) return;
    const message = body as Record<string, unknown>;
    if (direct && from === this.node && typeof message.ping === 'number') {
      this.pings.back(message.ping);
      return;
    }
    if (!direct) this.seq.seen(message, from); // a hole in a sender's numbers is a lost message
    if (from === this.node) {
      if (!direct && typeof message.beat === 'number') this.lease.beatBack(message.beat);
      return; // our own edits were applied when they were made
    }
    this.lease.heard(from);
    if (Array.isArray(message.ops)) {
      for (const op of message.ops) if (isOp(op)) this.apply(op);
      // A kill: say so once applied, so the issuer's logout can complete (kills.ts).
      if (!direct && typeof message.confirm === 'number')
        this.background(this.bus.publish(`sessions.${from}`, { applied: message.confirm } satisfies Message), 'confirming a logout');
    } else if (direct && typeof message.applied === 'number') {
      this.kills.applied(message.applied, from);
    } else if (message.bye === true && !direct) {
      this.seq.forget(from);
      this.lease.left(from);
      this.kills.left(from);
    } else {
      this.catchUp.receive(message, from, direct); // hello, digests, transfers
    }
  }

  // ---- expiry ----

  /**
   * Walk the records a slice at a time (at most `budgetMs` per turn), ending sessions whose time is
   * up and forgetting tombstones older than the absolute timeout, after which no live copy of that
   * session can exist anywhere.
   */
  private sweep(budgetMs: number): void {
    if (!this.running) return;
    this.state.capTombstones(this.options.maxSessions); // bounded like live sessions (records.ts)
    for (let r = this.state.arrivals.entry; r !== undefined && !this.state.anonymous(r); r = this.state.arrivals.entry) {
      this.state.arrivals.shift(); // bound, ended or forgotten since it arrived
    }
    this.seq.prune(10 * this.settings.leaseMs); // crashed peers never say goodbye
    const now = this.now();
    const deadline = performance.now() + budgetMs;
    if (this.sweepCursor === undefined) {
      // Once a pass: a revocation older than the absolute timeout covers no session that can still live.
      this.state.revocations.forget((now - this.options.absoluteTimeoutMs) * TICKS_PER_MS);
      this.sweepCursor = this.state.records.values();
    }
    for (let steps = 1; ; steps++) {
      const next = this.sweepCursor.next();
      if (next.done === true) {
        this.sweepCursor = undefined;
        return;
      }
      const record = next.value;
      if (!isLive(record)) {
        if (now >= record.diedAt + this.options.absoluteTimeoutMs) this.state.drop(record.id);
      } else if (this.expired(record, now)) {
        this.expire(record);
      }
      if ((steps & 255) === 0 && performance.now() >= deadline) return;
    }
  }
}

/** The same secrets in the same order (the first signs): a string and its UTF-8 bytes are the same. */
function sameSecrets(own: NonNullable<ReplicatedStoreOptions['secret']>, secrets: readonly string[]): boolean {
  const list = (Array.isArray(own) ? own : [own]) as (string | Buffer)[];
  return list.length === secrets.length && list.every((s, i) => Buffer.from(s).equals(Buffer.from(secrets[i]!)));
}

/**
 * A memory store replicated over a pub/sub transport: every node holds every session, so a load
 * balancer needs no sticky routing. Give every node the same `secret`.
 *
 * @example
 * ```ts
 * const app = createApp({
 *   session: {
 *     secrets: [process.env.SESSION_SECRET!],
 *     store: replicatedStore({ transport: redisTransport({ url: 'redis://10.0.0.5:6379' }), secret: process.env.SESSION_SECRET! }),
 *   },
 *   routes,
 * });
 * ```
 */
export function replicatedStore(options: ReplicatedStoreOptions): ReplicatedSessionStore {
  if (options === null || typeof options !== 'object' || typeof options.transport?.publish !== 'function') {
    throw errors.config('replication.transport', 'give a transport: redisTransport(), natsTransport(), clusterTransport() or inProcessBus().transport()');
  }
  return new ReplicatedStore(checkTimings(options));
}
