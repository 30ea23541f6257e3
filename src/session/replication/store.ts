/**
 * The replicated memory store (Nova's `nova_session_ets` over `nova_pubsub`, with its gaps
 * closed): each node keeps every session in memory and reads at memory speed; each write is applied
 * here, published, and acknowledged by the transport before it resolves; a node that joins late or
 * comes back from a transport outage pulls its peers' state. Conflict rules are in `records.ts`.
 */
import { performance } from 'node:perf_hooks';
import { errors } from '../../errors.js';
import type { Json } from '../../results/result.js';
import { Bus, type BusOptions } from '../../pubsub/bus.js';
import type { Transport, Unsubscribe } from '../../pubsub/transport.js';
import { checkStoreOptions, encodeSessionValue, entryBytes, storeUnavailable, type SessionStore, type SessionStoreOptions } from '../store.js';
import { HybridClock } from './hlc.js';
import { isOp, isRecordWire, type Message, type Op } from './messages.js';
import { isLive, ReplicaState, type FieldWire, type RecordWire, type SessionRecord } from './records.js';

/** How a replicated store is made. */
export interface ReplicatedStoreOptions {
  /** The engine that carries the edits: `redisTransport()`, `natsTransport()`, `clusterTransport()`… */
  transport: Transport;
  /** The cluster secret every node shares (≥ 32 bytes, or a list: first signs, all verify). */
  secret: BusOptions['secret'];
  /** Nodes only replicate with nodes of the same cluster name. Default `nova`. */
  cluster?: string;
  /** How long `start()` waits for a peer's state before serving alone (the first node). Default 1000 ms. */
  joinTimeoutMs?: number;
  /** Longest wait for in-flight edits before an unknown id is read as absent. Default 250 ms. */
  barrierTimeoutMs?: number;
  /** How often the expiry sweep runs. Default 1000 ms. */
  sweepIntervalMs?: number;
  /** After a publish that was not acknowledged, how long until this node pushes its state again. Default 1000 ms. */
  repairDelayMs?: number;
  /** Where refused messages and failed background sends are reported. Default `console.warn`. */
  warn?: (message: string) => void;
}

/** The replicated store, with what monitoring and tests need. */
export interface ReplicatedSessionStore extends SessionStore {
  /** This node's id on the bus (new on every start of the process). */
  readonly node: string;
  readonly liveSessions: number;
  /** Ids held: live sessions plus tombstones. */
  readonly size: number;
  start(options: SessionStoreOptions): Promise<void>;
  stop(): Promise<void>;
  /** Send our state to every peer and ask for theirs; done by itself on start and on reconnect. */
  resync(): Promise<void>;
  /** End every session whose time is up now (the sweep also runs by itself); returns how many. */
  expireNow(): number;
  /** Every record, live and dead, in the state-transfer format (tests, diagnostics). */
  dump(): RecordWire[];
}

/**
 * A message's budget, well under NATS's default 1 MiB payload limit (MAX_FRAME_BYTES). One op or
 * record is at most a session's size (`maxSessionBytes`, 64 KiB by default) plus its stamps, so
 * messages are cut by estimated size, not by count.
 */
const MESSAGE_BUDGET = 256 * 1024;

/** Roughly the JSON length of an op or record: its strings, plus room for numbers and quoting. */
function weight(value: unknown): number {
  if (typeof value === 'string') return value.length + 8;
  if (Array.isArray(value)) {
    let sum = 4;
    for (const item of value) sum += weight(item);
    return sum;
  }
  return 24;
}

/** Cut `items` into runs whose estimated size stays within the message budget. */
function batches<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  let run: T[] = [];
  let size = 0;
  for (const item of items) {
    const w = weight(item);
    if (run.length > 0 && size + w > MESSAGE_BUDGET) {
      out.push(run);
      run = [];
      size = 0;
    }
    run.push(item);
    size += w;
  }
  if (run.length > 0) out.push(run);
  return out;
}

class ReplicatedStore implements ReplicatedSessionStore {
  readonly name = 'replicated-memory';
  private readonly bus: Bus;
  private readonly state = new ReplicaState(() => this.now());
  private clock: HybridClock;
  private options: SessionStoreOptions = checkStoreOptions();
  private now: () => number = Date.now;
  private running = false;
  private subscriptions: Unsubscribe[] = [];
  private outbox: Op[] = [];
  private sending: Promise<void> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweepCursor: Iterator<SessionRecord> | undefined;
  private readonly pings = {
    sent: 0,
    inFlight: false,
    /** Callers waiting for the next ping, which goes out when the one in flight is back. */
    waiting: undefined as { done: Promise<boolean>; release: (caughtUp: boolean) => void } | undefined,
    /** What to run when ping k comes back. */
    back: new Map<number, () => void>(),
  };
  private joined: (() => void) | undefined;
  private repair: NodeJS.Timeout | undefined;
  private listening = false;
  /** Nodes we are sending our state to right now. */
  private readonly transfers = new Set<string>();

  constructor(private readonly settings: ReplicatedStoreOptions & { joinTimeoutMs: number; barrierTimeoutMs: number; sweepIntervalMs: number; repairDelayMs: number }) {
    this.bus = new Bus({ transport: settings.transport, secret: settings.secret, cluster: settings.cluster, warn: settings.warn });
    this.clock = new HybridClock(this.bus.node);
  }

  get node(): string {
    return this.bus.node;
  }
  get liveSessions(): number {
    return this.state.live;
  }
  get size(): number {
    return this.state.records.size;
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
    this.running = true;
    if (!this.listening) {
      this.listening = true; // transports keep their listeners: register once, however often started
      this.bus.onReconnect(() => this.running && this.background(this.resync(), 'resync after reconnect'));
    }
    clearInterval(this.sweepTimer);
    this.sweepTimer = setInterval(() => this.sweep(1), this.settings.sweepIntervalMs).unref();
    await this.resync();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.sweepTimer);
    clearTimeout(this.repair);
    this.repair = undefined;
    await Promise.allSettled(this.subscriptions.map((off) => off()));
    this.subscriptions = [];
    await this.bus.stop();
  }

  async getValue(id: string, key: string): Promise<Json | undefined> {
    const record = await this.lookup(id);
    if (record === undefined || !isLive(record)) return undefined;
    this.touch(record);
    const text = record.fields.get(key)?.text;
    return text === undefined || text === null ? undefined : (JSON.parse(text) as Json);
  }

  async setValue(id: string, key: string, value: Json): Promise<void> {
    const now = this.ready();
    if (typeof id !== 'string' || id.length === 0) throw errors.sessionIdInvalid('a session id must be a non-empty string');
    const text = encodeSessionValue(key, value);
    const added = entryBytes(key, text);
    const limit = this.options.maxSessionBytes;
    // No barrier for an unknown id: if it died elsewhere, that tombstone still wins when it lands.
    const record = this.find(id, now);
    if (record === undefined) {
      if (added > limit) throw errors.sessionTooLarge(added, limit);
      if (this.state.live >= this.options.maxSessions) {
        this.sweep(1); // full: expired sessions go first, live ones are never evicted
        if (this.state.live >= this.options.maxSessions) throw errors.sessionStoreFull(this.options.maxSessions);
      }
    } else {
      if (!isLive(record)) throw errors.sessionGone();
      const old = record.fields.get(key)?.text;
      const bytes = record.bytes - (old === undefined || old === null ? 0 : entryBytes(key, old)) + added;
      if (bytes > limit) throw errors.sessionTooLarge(bytes, limit);
    }
    const created = record?.created ?? now;
    const lastSeen = record === undefined || now - record.lastSeen >= this.options.touchIntervalMs ? now : record.lastSeen;
    await this.issue(['s', id, key, text, ...this.stamp(), created, lastSeen]);
  }

  async deleteValue(id: string, key?: string): Promise<void> {
    const now = this.ready();
    let record = this.find(id, now);
    if (record === undefined) {
      const caughtUp = await this.barrier();
      record = this.find(id, this.ready());
      // Unknown ids get nothing, as in every store: an anonymous logout records nothing. But if
      // the barrier could not confirm we are up to date, the session may exist elsewhere: a
      // logout must not be lost, so it is recorded and sent anyway (tombstones are capped).
      if (record === undefined && key === undefined && !caughtUp) return this.issue(['k', id, ...this.stamp(), now]);
    }
    if (record === undefined || !isLive(record)) return;
    if (key === undefined) return this.issue(['k', id, ...this.stamp(), record.created]);
    await this.issue(['s', id, key, null, ...this.stamp(), record.created, record.lastSeen]);
  }

  async rotate(oldId: string, newId: string): Promise<void> {
    if (typeof newId !== 'string' || newId.length === 0) throw errors.sessionIdInvalid('a session id must be a non-empty string');
    if (this.state.get(newId) !== undefined) throw errors.sessionIdInvalid('the new id is already in use');
    const record = await this.lookup(oldId);
    if (record === undefined) return;
    if (!isLive(record)) throw errors.sessionGone();
    const fields: FieldWire[] = [];
    for (const [key, f] of record.fields) fields.push([key, f.text, f.t, f.n]);
    await this.issue(['r', oldId, newId, ...this.stamp(), record.created, this.ready(), fields]);
  }

  async resync(): Promise<void> {
    if (!this.running) return;
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<void>((resolve) => {
      this.joined = resolve;
      timer = setTimeout(resolve, this.settings.joinTimeoutMs);
    }).finally(() => clearTimeout(timer));
    await this.bus.publish('sessions', { hello: true } satisfies Message);
    await this.sendRecords('sessions');
    await answered;
    this.joined = undefined;
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

  // ---- local edits ----

  private stamp(): [number, string] {
    const { t, n } = this.clock.stamp();
    return [t, n];
  }

  /** Apply an edit here, then publish it; resolves when the transport acknowledged it. */
  private issue(op: Op): Promise<void> {
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
      const sends = batches(ops).map((run) => this.bus.publish('sessions', { ops: run } satisfies Message));
      return Promise.all(sends).then(
        () => undefined,
        (err: unknown) => {
          // Applied here but not confirmed there: push our whole state again until it gets through.
          this.repairSoon();
          throw err;
        },
      );
    });
    return this.sending;
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

  private background(work: Promise<unknown>, what: string): void {
    work.catch((err: unknown) => (this.settings.warn ?? console.warn)(`nova-ts replication: ${what} failed: ${(err as Error).message}`));
  }

  private ready(): number {
    if (!this.running) throw storeUnavailable('the replicated store is not running (call start() first)');
    return this.now();
  }

  /** The record for `id`; an unknown id first waits for edits already in flight (see `barrier`). */
  private async lookup(id: string): Promise<SessionRecord | undefined> {
    const record = this.find(id, this.ready());
    if (record !== undefined) return record;
    await this.barrier();
    return this.find(id, this.ready());
  }

  /** The record, after ending it (and telling the peers) if its time is up. */
  private find(id: string, now: number): SessionRecord | undefined {
    const record = this.state.get(id);
    if (record !== undefined && isLive(record) && this.expired(record, now)) this.expire(record);
    return record;
  }

  private expired(record: SessionRecord, now: number): boolean {
    return now >= record.created + this.options.absoluteTimeoutMs || now >= record.lastSeen + this.options.idleTimeoutMs;
  }

  private expire(record: SessionRecord): void {
    const op: Op = ['k', record.id, ...this.stamp(), record.created];
    this.apply(op);
    this.background(this.send(op), 'publishing an expiry');
  }

  private touch(record: SessionRecord): void {
    const now = this.now();
    if (now - record.lastSeen < this.options.touchIntervalMs) return;
    const op: Op = ['u', record.id, now];
    this.apply(op);
    this.background(this.send(op), 'publishing a touch');
  }

  /**
   * Wait until every edit published before now has reached this node, by sending a ping to
   * ourselves through the transport: it comes back behind them (the transport keeps that order).
   * Used only when an id is unknown, so a client that logged in on node A and was redirected here
   * finds its session even if A's message is a hair behind the request. At most one ping is in
   * flight: callers that arrive meanwhile share the next one, so a flood of requests with unknown
   * ids costs one ping per round trip, not one per request. A transport that is down costs each
   * caller at most `barrierTimeoutMs`.
   */
  private barrier(): Promise<boolean> {
    const pings = this.pings;
    if (pings.waiting === undefined) {
      let release!: (caughtUp: boolean) => void;
      const done = new Promise<boolean>((resolve) => (release = resolve));
      const timer = setTimeout(() => release(false), this.settings.barrierTimeoutMs);
      pings.waiting = { done, release: (caughtUp) => (clearTimeout(timer), release(caughtUp)) };
    }
    const { done } = pings.waiting;
    if (!pings.inFlight) {
      pings.inFlight = true;
      queueMicrotask(() => this.ping()); // callers in this same turn share it
    }
    return done;
  }

  private ping(): void {
    const pings = this.pings;
    const batch = pings.waiting;
    pings.waiting = undefined;
    if (batch === undefined) {
      pings.inFlight = false;
      return;
    }
    const k = ++pings.sent;
    let settled = false;
    const settle = (caughtUp: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(lost);
      pings.back.delete(k);
      batch.release(caughtUp);
      this.ping(); // the callers that arrived meanwhile, if any
    };
    // A ping that never comes back (transport down) must not block later ones.
    const lost = setTimeout(() => settle(false), this.settings.barrierTimeoutMs);
    pings.back.set(k, () => settle(true));
    this.bus.publish(`sessions.${this.node}`, { ping: k } satisfies Message).catch(() => settle(false));
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
        return this.state.rotate(op[1], op[2], op[7], op[5], op[6]);
      case 'u':
        return this.state.touch(op[1], op[2]);
    }
  }

  private receive(body: unknown, from: string, direct: boolean): void {
    if (!this.running || typeof body !== 'object' || body === null) return;
    const message = body as Record<string, unknown>;
    if (direct && from === this.node && typeof message.ping === 'number') {
      this.pings.back.get(message.ping)?.();
      return;
    }
    if (from === this.node) return; // our own edits were applied when they were made
    if (Array.isArray(message.ops)) {
      for (const op of message.ops) if (isOp(op)) this.apply(op);
    } else if (Array.isArray(message.records)) {
      for (const r of message.records) {
        if (!isRecordWire(r)) continue;
        for (const f of r[3]) this.clock.observe(f[2]);
        this.state.mergeWire(r);
      }
    } else if (message.hello === true && !direct) {
      // One transfer per asking node at a time, however often it (or a replay) asks.
      if (this.transfers.has(from)) return;
      this.transfers.add(from);
      this.background(
        this.sendRecords(`sessions.${from}`)
          .then(() => this.bus.publish(`sessions.${from}`, { synced: true } satisfies Message))
          .finally(() => this.transfers.delete(from)),
        'a state transfer',
      );
      return;
    } else if (message.synced === true && direct) {
      this.joined?.();
    }
  }

  private async sendRecords(channel: string): Promise<void> {
    let run: RecordWire[] = [];
    let size = 0;
    for (const record of this.state.wire()) {
      const w = weight(record);
      if (run.length > 0 && size + w > MESSAGE_BUDGET) {
        await this.bus.publish(channel, { records: run } satisfies Message);
        run = [];
        size = 0;
      }
      run.push(record);
      size += w;
    }
    if (run.length > 0) await this.bus.publish(channel, { records: run } satisfies Message);
  }

  // ---- expiry ----

  /**
   * Tombstones are bounded like live sessions, as in the memory store: a login/logout loop would
   * otherwise grow every node for a whole absolute timeout. Past `maxSessions` the ones first in
   * the index go (roughly the oldest); a late edit to such an id can then only create a session
   * holding that edit, never bring old data back.
   */
  private capTombstones(): void {
    let excess = this.state.records.size - this.state.live - this.options.maxSessions;
    if (excess <= 0) return;
    for (const record of this.state.records.values()) {
      if (excess <= 0) return;
      if (!isLive(record)) {
        this.state.drop(record.id);
        excess--;
      }
    }
  }

  /**
   * Walk the records a slice at a time (at most `budgetMs` per turn), ending sessions whose time is
   * up and forgetting tombstones older than the absolute timeout, after which no live copy of that
   * session can exist anywhere.
   */
  private sweep(budgetMs: number): void {
    if (!this.running) return;
    this.capTombstones();
    const now = this.now();
    const deadline = performance.now() + budgetMs;
    this.sweepCursor ??= this.state.records.values();
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
  const timing = {
    joinTimeoutMs: options.joinTimeoutMs ?? 1000,
    barrierTimeoutMs: options.barrierTimeoutMs ?? 250,
    sweepIntervalMs: options.sweepIntervalMs ?? 1000,
    repairDelayMs: options.repairDelayMs ?? 1000,
  };
  for (const [name, value] of Object.entries(timing)) {
    if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) throw errors.config(`replication.${name}`, 'must be a positive number of milliseconds');
  }
  return new ReplicatedStore({ ...options, ...timing });
}
