/**
 * Loss detection on the shared channel. Every transport Nova.ts runs on keeps one publisher's
 * messages in order on one channel (Redis pub/sub, a NATS server, cluster IPC), so a message that
 * never arrives shows up as a hole in that publisher's numbers, and only then: nothing else tells
 * a node that a logout passed it by while its lease held (its own heartbeats kept coming back).
 *
 * Each data message a node publishes on `sessions` (ops, kills, catch-up broadcasts, goodbye)
 * takes the next number; a heartbeat carries the last number taken, without taking one. A
 * heartbeat carries no data, so one that is lost costs nothing, and one that fails to publish must
 * not send every peer into a catch-up; but it says how many data messages came before it, so a
 * data message lost just before a quiet spell is noticed at the next heartbeat, within
 * `heartbeatMs`. A node's own heartbeats, numbered by the lease, are checked the same way: one
 * that does not come back while a later one does means this node's incoming side lost messages.
 *
 * A hole is loss only once it stays open for `graceMs`: the in-process test bus reorders on
 * purpose, and a late message fills its hole. Duplicates and old numbers are ignored. Numbers are
 * per node id, and a restarted node has a new id, so a peer's numbers are forgotten with the peer.
 */

/** A hole wider than this is loss at once: no reordering delays that many messages. */
const MAX_HOLE = 256;

interface Sender {
  high: number;
  missing: Set<number>;
  timer: NodeJS.Timeout | undefined;
  /** Monotonic-ish time (Date.now) last heard, for forgetting crashed peers. */
  at: number;
}

export interface SequenceOptions {
  graceMs: number;
  /** Messages from `sender` were lost (`count` of them, at least): catch up. */
  onLoss: (sender: string, count: number) => void;
  /** This node's id: a hole in its own messages means its incoming side lost messages. */
  self?: string;
  /** Where loss is reported, at most once a minute. */
  warn?: (message: string) => void;
}

/** Loss is logged at most this often: a flapping network must not flood the log. */
const LOG_EVERY_MS = 60_000;

/**
 * @example
 * ```ts
 * const seq = new Sequences({ graceMs: 20, onLoss: (from) => lease.catchUp() });
 * bus.publish('sessions', { ops, q: seq.next() });
 * bus.publish('sessions', { beat: k, q: seq.last });
 * // receiving: ops → seq.data(from, q); heartbeat → seq.upTo(from, q)
 * ```
 */
export class Sequences {
  private taken = 0;
  private readonly senders = new Map<string, Sender>();
  private logged = -Infinity;

  constructor(private readonly o: SequenceOptions) {}

  /** The number for this node's next data message on the shared channel. */
  next(): number {
    return ++this.taken;
  }

  /** The number of this node's last data message (what a heartbeat carries). */
  get last(): number {
    return this.taken;
  }

  /** Any message on the shared channel, this node's own included. */
  seen(message: Record<string, unknown>, from: string): void {
    const q = message.q;
    if (typeof q !== 'number') return;
    if (typeof message.beat !== 'number') return this.data(from, q);
    this.upTo(from, q);
    if (from === this.o.self) this.data(`${from} beats`, message.beat); // one of ours that does not come back is loss too
  }

  /** Data message `q` from `sender` arrived. */
  data(sender: string, q: number): void {
    const s = this.sender(sender, q);
    if (s === undefined) return;
    if (q <= s.high) {
      if (s.missing.delete(q) && s.missing.size === 0) clearTimeout(s.timer), (s.timer = undefined);
      return;
    }
    this.hole(sender, s, s.high + 1, q - 1);
    s.high = q;
  }

  /** A heartbeat from `sender` says its data messages up to `q` were sent before it. */
  upTo(sender: string, q: number): void {
    const s = this.sender(sender, q);
    if (s === undefined || q <= s.high) return;
    this.hole(sender, s, s.high + 1, q);
    s.high = q;
  }

  /** `sender` left, or is gone: a node that comes back has a new id. */
  forget(sender: string): void {
    const s = this.senders.get(sender);
    if (s !== undefined) clearTimeout(s.timer);
    this.senders.delete(sender);
  }

  /** Forget senders not heard for `ms` (crashed peers: they never say goodbye). */
  prune(ms: number): void {
    const before = Date.now() - ms;
    for (const [sender, s] of this.senders) if (s.at < before) this.forget(sender);
  }

  /** Forget every sender (this node stops: what it hears after a start is covered by its catch-up). */
  clear(): void {
    for (const sender of [...this.senders.keys()]) this.forget(sender);
  }

  /** Undefined on first contact: what came before it is covered by the catch-up at join or reconnect. */
  private sender(sender: string, q: number): Sender | undefined {
    if (!Number.isSafeInteger(q) || q < 0) return undefined;
    const s = this.senders.get(sender);
    if (s === undefined) {
      this.senders.set(sender, { high: q, missing: new Set(), timer: undefined, at: Date.now() });
      return undefined;
    }
    s.at = Date.now();
    return s;
  }

  private loss(sender: string, count: number): void {
    const now = Date.now();
    if (this.o.warn !== undefined && now - this.logged >= LOG_EVERY_MS) {
      this.logged = now;
      const who = sender.startsWith(this.o.self ?? '\0') ? 'itself' : sender;
      this.o.warn(`lost ${count} message(s) from ${who}; catching up (sessions answer 503 until done)`);
    }
    this.o.onLoss(sender, count);
  }

  private hole(sender: string, s: Sender, from: number, to: number): void {
    if (to < from) return;
    if (to - from + 1 > MAX_HOLE || s.missing.size + (to - from + 1) > MAX_HOLE) {
      const count = s.missing.size + (to - from + 1);
      s.missing.clear();
      clearTimeout(s.timer);
      s.timer = undefined;
      this.loss(sender, count);
      return;
    }
    for (let q = from; q <= to; q++) s.missing.add(q);
    s.timer ??= setTimeout(() => {
      s.timer = undefined;
      if (s.missing.size === 0 || this.senders.get(sender) !== s) return;
      const count = s.missing.size;
      s.missing.clear();
      this.loss(sender, count);
    }, this.o.graceMs).unref();
  }
}
